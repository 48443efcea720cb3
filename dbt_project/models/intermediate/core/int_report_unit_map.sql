-- Grain: one row per report half-year x basis ('current': the half itself;
-- 'same_period': the same half a year before) x reporting-unit version that
-- existed in at least one month of the basis half. report_unit_code is the unit
-- that version's records count towards in THAT report: the step of its successor
-- chain (int_admin_unit_lineage) valid on the report's last day (contract §7:
-- "the units of a half-year's report are those valid on its last day").
-- report_unit_code is null when the chain reaches no such unit (the districts, for
-- the same period of 2025-H2 and 2026-H1): those records count towards the
-- province only, and no figure is ever divided among units.
with

lineage as (

    select * from {{ ref('int_admin_unit_lineage') }}

),

half_years as (

    select * from {{ ref('dim_half_years') }}

),

bases as (

    select
        half_year as report_period,
        half_end_on as report_end_on,
        'current' as basis,
        half_year as basis_half_year,
        half_start_on as basis_start_on,
        half_end_on as basis_end_on
    from half_years

    union all

    select
        half_year as report_period,
        half_end_on as report_end_on,
        'same_period' as basis,
        same_period_half_year as basis_half_year,
        same_period_start_on as basis_start_on,
        same_period_end_on as basis_end_on
    from half_years

),

origins as (

    select
        unit_code,
        unit_valid_from,
        unit_valid_to
    from lineage
    where depth = 0

),

overlapping as (

    select
        bases.report_period,
        bases.report_end_on,
        bases.basis,
        bases.basis_half_year,
        origins.unit_code as origin_unit_code,
        origins.unit_valid_from as origin_unit_valid_from
    from bases
    inner join origins
        on
            bases.basis_end_on >= origins.unit_valid_from
            and bases.basis_start_on <= origins.unit_valid_to

),

mapped as (

    select
        overlapping.report_period,
        overlapping.basis,
        overlapping.basis_half_year,
        overlapping.origin_unit_code,
        overlapping.origin_unit_valid_from,
        lineage.step_unit_code as report_unit_code,
        lineage.step_valid_from as report_unit_valid_from
    from overlapping
    left join lineage
        on
            overlapping.origin_unit_code = lineage.unit_code
            and overlapping.origin_unit_valid_from = lineage.unit_valid_from
            and overlapping.report_end_on between lineage.step_counts_from and lineage.step_valid_to

)

select * from mapped
