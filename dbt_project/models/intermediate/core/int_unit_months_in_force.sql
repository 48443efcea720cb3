-- Grain: one row per submitting unit version x month with a version in force: the
-- version, and the unit of that month's half-year report its records count towards
-- (int_report_unit_map, basis current). The unit-months every figure of the area
-- marts is made of.
with

submissions as (

    select * from {{ ref('int_submissions_mapped') }}

),

unit_map as (

    select * from {{ ref('int_report_unit_map') }}

),

final as (

    select
        submissions.period,
        submissions.half_year,
        submissions.origin_unit_code,
        submissions.origin_unit_valid_from,
        unit_map.report_unit_code,
        submissions.submission_id,
        submissions.version
    from submissions
    left join unit_map
        on
            submissions.half_year = unit_map.report_period
            and unit_map.basis = 'current'
            and submissions.origin_unit_code = unit_map.origin_unit_code
            and submissions.origin_unit_valid_from = unit_map.origin_unit_valid_from
    where submissions.is_in_force

)

select * from final
