-- Grain: one row per submission version of the ledger (accepted or rejected), with
-- its times, the reporting unit it counts towards and the rows of its files. For the
-- reporting team's desk: which version of a unit-month is in force, and every
-- earlier one. No record content.
with

submissions as (

    select * from {{ ref('stg_district_export__submissions') }}

),

mapped as (

    select * from {{ ref('int_submissions_mapped') }}

),

files as (

    select * from {{ ref('stg_district_export__files') }}

),

months as (

    select * from {{ ref('dim_months') }}

),

file_rows as (

    select
        submission_id,
        count(*) as files_listed,
        cast(coalesce(sum(rows_loaded), 0) as bigint) as rows_loaded,
        cast(coalesce(sum(rows_quarantined), 0) as bigint) as rows_quarantined
    from files
    group by submission_id

),

final as (

    select
        submissions.submission_id,
        submissions.unit_code,
        mapped.current_unit_code,
        submissions.period,
        mapped.half_year,
        submissions.version,
        submissions.submitted_at,
        submissions.landed_at,
        submissions.submission_status,
        submissions.rejection_reason,
        submissions.submitted_at >= months.deadline_at as is_after_deadline,
        submissions.is_in_force,
        submissions.n_files,
        coalesce(file_rows.files_listed, 0) as files_listed,
        coalesce(file_rows.rows_loaded, 0) as rows_loaded,
        coalesce(file_rows.rows_quarantined, 0) as rows_quarantined
    from submissions
    left join mapped on submissions.submission_id = mapped.submission_id
    left join file_rows on submissions.submission_id = file_rows.submission_id
    left join months on submissions.period = months.period

)

select * from final
