-- Grain: one row per expected unit-month (fct_expected_submissions), with its
-- timeliness from fct_submission_status ("late" and "in force" are defined
-- there and in staging); a month outside the ledger's range has no status row
-- and is missing. What the report gate's completeness, timeliness, same-period
-- and quarantine-share expectations read.
with

expected as (

    select * from {{ ref('fct_expected_submissions') }}

),

submission_status as (

    select * from {{ ref('fct_submission_status') }}

),

final as (

    select
        expected.unit_code,
        expected.period,
        expected.half_year,
        expected.unit_name_vi,
        expected.current_unit_code,
        coalesce(submission_status.timeliness, 'missing') as timeliness,
        coalesce(submission_status.versions_received, 0) as versions_received,
        coalesce(submission_status.versions_rejected, 0) as versions_rejected,
        submission_status.in_force_submission_id,
        coalesce(submission_status.rows_loaded, 0) as rows_loaded,
        coalesce(submission_status.rows_quarantined, 0) as rows_quarantined,
        submission_status.rows_quarantined
        / nullif(submission_status.rows_loaded + submission_status.rows_quarantined, 0) as quarantine_share
    from expected
    left join submission_status
        on
            expected.unit_code = submission_status.unit_code
            and expected.period = submission_status.period

)

select * from final
