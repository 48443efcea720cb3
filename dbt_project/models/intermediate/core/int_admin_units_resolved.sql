-- One row per district-level admin unit version (code + validity), with the
-- CURRENT district it belongs to today: successor_code is followed (recursively)
-- to the unit of that code valid on the day after the old unit ended.
with recursive

admin_units as (

    select * from {{ ref('admin_units') }}

),

districts as (

    select
        unit_code,
        name_vi,
        unit_type,
        valid_from as unit_valid_from,
        coalesce(valid_to, date '9999-12-31') as unit_valid_to,
        successor_code
    from admin_units
    where unit_type != 'province'

),

successor_chain as (

    select
        unit_code,
        unit_valid_from,
        unit_code as step_unit_code,
        unit_valid_from as step_valid_from,
        unit_valid_to as step_valid_to,
        successor_code as step_successor_code,
        0 as depth
    from districts

    union all

    select
        successor_chain.unit_code,
        successor_chain.unit_valid_from,
        successors.unit_code as step_unit_code,
        successors.unit_valid_from as step_valid_from,
        successors.unit_valid_to as step_valid_to,
        successors.successor_code as step_successor_code,
        successor_chain.depth + 1 as depth
    from successor_chain
    inner join districts as successors
        on
            successor_chain.step_successor_code = successors.unit_code
            and successor_chain.step_valid_to + 1
            between successors.unit_valid_from and successors.unit_valid_to
    where successor_chain.depth < 10

),

current_step as (

    select *
    from successor_chain
    qualify row_number() over (
            partition by unit_code, unit_valid_from order by depth desc
        ) = 1

),

resolved as (

    select
        districts.unit_code,
        districts.unit_valid_from,
        districts.unit_valid_to,
        districts.name_vi as unit_name_vi,
        districts.unit_type,
        districts.successor_code,
        current_step.step_unit_code as current_unit_code,
        current_step.step_valid_from as current_unit_valid_from,
        current_units.name_vi as current_unit_name_vi,
        districts.unit_valid_to = date '9999-12-31' as is_current
    from districts
    inner join current_step
        on
            districts.unit_code = current_step.unit_code
            and districts.unit_valid_from = current_step.unit_valid_from
    inner join districts as current_units
        on
            current_step.step_unit_code = current_units.unit_code
            and current_step.step_valid_from = current_units.unit_valid_from

)

select * from resolved
