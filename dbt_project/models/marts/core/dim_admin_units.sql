-- Grain: one row per admin unit version (a code is only unique with its
-- validity: 049 is Quảng Uyên until 2020-01-31 and Quảng Hòa from 2020-02-01),
-- the province included. is_reporting_unit: a unit that submits (city, district,
-- commune, ward) in the months it is valid.
with

admin_units as (

    select * from {{ ref('admin_units') }}

),

resolved as (

    select * from {{ ref('int_admin_units_resolved') }}

),

final as (

    select
        admin_units.unit_code || '@' || strftime(admin_units.valid_from, '%Y-%m-%d') as admin_unit_id,
        admin_units.unit_code,
        admin_units.name_vi as unit_name_vi,
        admin_units.unit_type,
        admin_units.parent_code,
        admin_units.valid_from,
        admin_units.valid_to,
        admin_units.successor_code,
        admin_units.former_district_code,
        coalesce(resolved.current_unit_code, admin_units.unit_code) as current_unit_code,
        coalesce(resolved.current_unit_name_vi, admin_units.name_vi) as current_unit_name_vi,
        admin_units.valid_to is null as is_current,
        admin_units.unit_type != 'province' as is_reporting_unit
    from admin_units
    left join resolved
        on
            admin_units.unit_code = resolved.unit_code
            and admin_units.valid_from = resolved.unit_valid_from

)

select * from final
