-- One row per reporting-unit version (code + validity) with the unit it counts
-- towards TODAY: the last step of its successor chain (int_admin_unit_lineage).
-- 044 -> 045, 046 -> 047, 049 (old) and 050 -> 049 (Quảng Hòa). A unit that ended
-- without a successor (the districts on 2025-06-30) counts towards itself.
-- What a record counts towards in a given half-year's report is
-- int_report_unit_map, not this.
with

lineage as (

    select * from {{ ref('int_admin_unit_lineage') }}

),

admin_units as (

    select * from {{ ref('admin_units') }}

),

last_step as (

    select *
    from lineage
    qualify row_number() over (
            partition by unit_code, unit_valid_from order by depth desc
        ) = 1

),

resolved as (

    select
        admin_units.unit_code,
        last_step.unit_valid_from,
        last_step.unit_valid_to,
        admin_units.name_vi as unit_name_vi,
        admin_units.unit_type,
        admin_units.successor_code,
        last_step.step_unit_code as current_unit_code,
        last_step.step_valid_from as current_unit_valid_from,
        last_step.step_unit_name_vi as current_unit_name_vi,
        last_step.unit_valid_to = date '9999-12-31' as is_current
    from last_step
    inner join admin_units
        on
            last_step.unit_code = admin_units.unit_code
            and last_step.unit_valid_from = admin_units.valid_from

)

select * from resolved
