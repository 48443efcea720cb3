-- Grain: one row per submission version of the ledger (meta.submissions).
-- is_in_force comes from the one definition of the version in force,
-- macros/district_export.sql in_force_submissions(). With the var `as_of` the
-- ledger is seen as it stood at the end of that day (Asia/Ho_Chi_Minh): versions
-- submitted later are left out (contract §6), except a version the var
-- `in_force_overrides` puts in force (a re-issue scenario).
with

submissions as (

    select * from {{ source('district_export_ledger', 'submissions') }}

),

in_force as (

    {{ in_force_submissions() }}

),

ranked as (

    select
        submissions.submission_id,
        submissions.unit_code,
        submissions.period,
        cast(submissions.period || '-01' as date) as month_start_on,
        submissions.version,
        submissions.submitted_at,
        submissions.landed_at,
        submissions.loaded_at,
        submissions.status as submission_status,
        submissions.reason as rejection_reason,
        submissions.n_files,
        submissions.status = 'accepted' as is_accepted,
        in_force.submission_id is not null as is_in_force
    from submissions
    left join in_force on submissions.submission_id = in_force.submission_id
    where
        {{ counts_as_of('submissions.submitted_at') }}
        or in_force.submission_id is not null

)

select * from ranked
