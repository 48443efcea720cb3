-- Grain: one row per file of a submission version (the ledger meta.files): name,
-- status, rows declared, read, loaded and quarantined. No record content.
with

files as (

    select * from {{ ref('stg_district_export__files') }}

),

submissions as (

    select * from {{ ref('stg_district_export__submissions') }}

),

final as (

    select
        files.submission_id,
        submissions.unit_code,
        submissions.period,
        submissions.version,
        files.dataset,
        files.file_name,
        files.media_type,
        files.file_bytes,
        files.file_status,
        files.rejection_reason,
        files.rows_declared,
        files.rows_in,
        files.rows_loaded,
        files.rows_quarantined
    from files
    inner join submissions on files.submission_id = submissions.submission_id

)

select * from final
