-- Grain: one row per submission x dataset x reason: how many rows of that file
-- were quarantined for that reason (a row with several reasons counts under each).
-- The quarantined record itself (personal data) is never read here.
with

quarantined_rows as (

    select * from {{ ref('stg_district_export__quarantined_rows') }}

),

submissions as (

    select * from {{ ref('int_submissions_mapped') }}

),

reasons as (

    select
        submission_id,
        unit_code,
        period,
        version,
        dataset,
        source_row,
        trim(unnest(string_split(reasons, '; '))) as reason
    from quarantined_rows

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
    from reasons
    where reason != ''
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
