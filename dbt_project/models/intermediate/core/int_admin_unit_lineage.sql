-- Grain: one row per reporting-unit version (code + validity; the province
-- excluded) x step of its successor chain (depth 0 = the unit itself). A step is
-- the unit of successor_code valid on the day after the previous step ended.
-- The one place where successor_code is followed: what a record of a unit counts
-- towards on a given day is the step valid that day (int_report_unit_map), and
-- step_counts_from: the day from which the origin's records count towards this
-- step (the day after the previous step ended; a successor may be older than the
-- unit that merged into it). The end of the chain is the unit it counts towards today
-- (int_admin_units_resolved). A unit that ends without a successor (the
-- districts on 2025-06-30, contract §7) has no step after its own validity.
with recursive

admin_units as (

    select * from {{ ref('admin_units') }}

),

reporting_units as (

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
        unit_valid_to,
        unit_code as step_unit_code,
        unit_valid_from as step_valid_from,
        unit_valid_from as step_counts_from,
        unit_valid_to as step_valid_to,
        successor_code as step_successor_code,
        0 as depth
    from reporting_units

    union all

    select
        successor_chain.unit_code,
        successor_chain.unit_valid_from,
        successor_chain.unit_valid_to,
        successors.unit_code as step_unit_code,
        successors.unit_valid_from as step_valid_from,
        successor_chain.step_valid_to + 1 as step_counts_from,
        successors.unit_valid_to as step_valid_to,
        successors.successor_code as step_successor_code,
        successor_chain.depth + 1 as depth
    from successor_chain
    inner join reporting_units as successors
        on
            successor_chain.step_successor_code = successors.unit_code
            and successor_chain.step_valid_to + 1
            between successors.unit_valid_from and successors.unit_valid_to
    where successor_chain.depth < 10

),

final as (

    select
        successor_chain.unit_code,
        successor_chain.unit_valid_from,
        successor_chain.unit_valid_to,
        successor_chain.depth,
        successor_chain.step_unit_code,
        successor_chain.step_valid_from,
        successor_chain.step_counts_from,
        successor_chain.step_valid_to,
        steps.name_vi as step_unit_name_vi
    from successor_chain
    inner join reporting_units as steps
        on
            successor_chain.step_unit_code = steps.unit_code
            and successor_chain.step_valid_from = steps.unit_valid_from

)

select * from final
