-- Grain: one row per submission x dataset x reason: how many rows of that file
-- were quarantined for that reason (a row with several reasons counts under each).
-- Counted from fct_quarantined_row_reasons (the split is done once, there); the
-- quarantined record itself (personal data) is never read.
with

row_reasons as (

    select * from {{ ref('fct_quarantined_row_reasons') }}

),

submissions as (

    select * from {{ ref('int_submissions_mapped') }}

),

counted as (

    select
        submission_id,
        unit_code,
        period,
        version,
        dataset,
        reason,
        count(distinct source_row) as rows
    from row_reasons
    group by all

),

final as (

    select
        counted.submission_id,
        counted.unit_code,
        counted.period,
        counted.version,
        counted.dataset,
        counted.reason,
        counted.rows,
        submissions.current_unit_code,
        submissions.submission_status,
        coalesce(submissions.is_in_force, false) as is_in_force
    from counted
    left join submissions on counted.submission_id = submissions.submission_id

)

select * from final
