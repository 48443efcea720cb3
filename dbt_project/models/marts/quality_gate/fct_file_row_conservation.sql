-- Grain: one row per file of every submitted version in the ledger (meta.files):
-- rows in, loaded and quarantined, and how many rows are unaccounted for
-- (rows_in - rows_loaded - rows_quarantined; 0 for every loaded file, null for a
-- file that was not loaded).
with

files as (

    select * from {{ ref('stg_district_export__files') }}

),

submissions as (

    select * from {{ ref('int_submissions_mapped') }}

),

final as (

    select
        files.submission_id,
        files.file_name,
        files.dataset,
        submissions.origin_unit_code as unit_code,
        submissions.period,
        submissions.half_year,
        submissions.is_in_force,
        files.file_status,
        files.rows_in,
        files.rows_loaded,
        files.rows_quarantined,
        files.rows_in - files.rows_loaded - files.rows_quarantined as rows_unaccounted
    from files
    inner join submissions on files.submission_id = submissions.submission_id

)

select * from final
