with

files as (

    select * from {{ source('district_export_ledger', 'files') }}

),

renamed as (

    select
        submission_id,
        dataset,
        file_name,
        media_type,
        bytes as file_bytes,
        rows_declared,
        sha256 as file_sha256,
        landed_path,
        status as file_status,
        reason as rejection_reason,
        rows_in,
        rows_loaded,
        rows_quarantined
    from files

)

select * from renamed
