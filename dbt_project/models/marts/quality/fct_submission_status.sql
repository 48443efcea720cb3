-- Grain: one row per reporting unit valid in the month x month, for every
-- month from the first to the last month of the ledger (meta.submissions).
-- on_time: the first accepted version was submitted before the deadline (end of
-- the 5th day of the next month, UTC+7); late: accepted, but after it; missing:
-- no accepted version (yet).
with

submissions as (

    select * from {{ ref('stg_district_export__submissions') }}

),

files as (

    select * from {{ ref('stg_district_export__files') }}

),

expected_submissions as (

    select * from {{ ref('fct_expected_submissions') }}

),

expected as (

    -- the expected unit-months (defined once, in fct_expected_submissions) of the ledger's months
    select expected_submissions.*
    from expected_submissions
    where
        expected_submissions.month_start_on
        between (select min(ledger.month_start_on) from submissions as ledger)
        and (select max(ledger.month_start_on) from submissions as ledger)

),

per_unit_month as (

    select
        unit_code,
        period,
        count(*) as versions_received,
        count(*) filter (where is_accepted) as versions_accepted,
        count(*) filter (where not is_accepted) as versions_rejected,
        max(version) as latest_version_received,
        max(version) filter (where is_accepted) as in_force_version,
        max(submission_id) filter (where is_in_force) as in_force_submission_id,
        min(submitted_at) filter (where is_accepted) as first_accepted_submitted_at
    from submissions
    group by unit_code, period

),

file_rows as (

    select
        submissions.unit_code,
        submissions.period,
        sum(files.rows_loaded) filter (where submissions.is_in_force) as rows_loaded,
        sum(files.rows_quarantined) filter (where submissions.is_in_force) as rows_quarantined,
        sum(files.rows_quarantined) as rows_quarantined_all_versions,
        count(*) filter (where files.file_status = 'rejected') as files_rejected
    from files
    inner join submissions on files.submission_id = submissions.submission_id
    group by submissions.unit_code, submissions.period

),

final as (

    select
        expected.unit_code,
        expected.period,
        expected.month_start_on,
        expected.half_year,
        expected.unit_name_vi,
        expected.current_unit_code,
        true as is_expected,
        coalesce(per_unit_month.versions_received, 0) as versions_received,
        coalesce(per_unit_month.versions_accepted, 0) as versions_accepted,
        coalesce(per_unit_month.versions_rejected, 0) as versions_rejected,
        per_unit_month.latest_version_received,
        per_unit_month.in_force_version,
        per_unit_month.in_force_submission_id,
        per_unit_month.first_accepted_submitted_at,
        expected.deadline_at,
        case
            when per_unit_month.first_accepted_submitted_at is null then 'missing'
            when per_unit_month.first_accepted_submitted_at < expected.deadline_at then 'on_time'
            else 'late'
        end as timeliness,
        coalesce(per_unit_month.first_accepted_submitted_at < expected.deadline_at, false) as is_on_time,
        coalesce(per_unit_month.first_accepted_submitted_at >= expected.deadline_at, false) as is_late,
        per_unit_month.first_accepted_submitted_at is null as is_missing,
        cast(coalesce(file_rows.rows_loaded, 0) as bigint) as rows_loaded,
        cast(coalesce(file_rows.rows_quarantined, 0) as bigint) as rows_quarantined,
        cast(coalesce(file_rows.rows_quarantined_all_versions, 0) as bigint) as rows_quarantined_all_versions,
        coalesce(file_rows.files_rejected, 0) as files_rejected
    from expected
    left join per_unit_month
        on
            expected.unit_code = per_unit_month.unit_code
            and expected.period = per_unit_month.period
    left join file_rows
        on
            expected.unit_code = file_rows.unit_code
            and expected.period = file_rows.period

)

select * from final
