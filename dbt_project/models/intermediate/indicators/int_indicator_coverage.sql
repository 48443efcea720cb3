-- Grain: one row per half-year with data (report_period) x basis ('current' | the
-- 'same_period' a year before) x unit of that half-year's report (dim_report_units),
-- plus, per report_period and basis, one row with report_unit_code null for units
-- whose records count towards the province only (int_report_unit_map). Says
-- whether any unit counting towards it has an in-force (accepted) submission in
-- the basis half (flow and distinct indicators) and in its last month (stock
-- indicators). No accepted submission -> the indicator is empty (null); accepted
-- but no records -> 0.
with

submissions as (

    select * from {{ ref('int_submissions_mapped') }}

),

unit_map as (

    select * from {{ ref('int_report_unit_map') }}

),

report_units as (

    select * from {{ ref('dim_report_units') }}

),

half_years as (

    select * from {{ ref('dim_half_years') }}

),

report_periods as (

    select distinct half_year as report_period
    from submissions
    where is_in_force

),

bases as (

    select 'current' as basis
    union all
    select 'same_period' as basis

),

accepted as (

    select
        unit_map.report_period,
        unit_map.basis,
        unit_map.report_unit_code,
        count(*) as submissions_in_force,
        count(distinct submissions.period) as months_accepted,
        bool_or(submissions.period = half_years.last_period) as has_accepted_last_month
    from submissions
    inner join unit_map
        on
            submissions.half_year = unit_map.basis_half_year
            and submissions.origin_unit_code = unit_map.origin_unit_code
            and submissions.origin_unit_valid_from = unit_map.origin_unit_valid_from
    inner join report_periods
        on unit_map.report_period = report_periods.report_period
    inner join half_years
        on unit_map.basis_half_year = half_years.half_year
    where submissions.is_in_force
    group by unit_map.report_period, unit_map.basis, unit_map.report_unit_code

),

grid as (

    select
        report_units.report_period,
        bases.basis,
        report_units.unit_code as report_unit_code
    from report_units
    inner join report_periods
        on report_units.report_period = report_periods.report_period
    cross join bases

    union

    select
        report_period,
        basis,
        report_unit_code
    from accepted
    where report_unit_code is null

),

final as (

    select
        grid.report_period,
        grid.basis,
        grid.report_unit_code,
        coalesce(accepted.submissions_in_force, 0) as submissions_in_force,
        coalesce(accepted.months_accepted, 0) as months_accepted,
        accepted.report_period is not null as has_accepted_month,
        coalesce(accepted.has_accepted_last_month, false) as has_accepted_last_month
    from grid
    left join accepted
        on
            grid.report_period = accepted.report_period
            and grid.basis = accepted.basis
            and grid.report_unit_code is not distinct from accepted.report_unit_code

)

select * from final
