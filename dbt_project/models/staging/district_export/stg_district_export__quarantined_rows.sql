-- The `record` JSON column (the raw cells, with names and citizen ids) is NOT
-- selected: it stays in the raw zone / meta schema for the operators.
with

quarantined_rows as (

    select * from {{ source('district_export_ledger', 'quarantined_rows') }}

),

renamed as (

    select
        submission_id,
        unit_code,
        period,
        cast(period || '-01' as date) as month_start_on,
        version,
        dataset,
        file_name,
        source_row,
        reasons
    from quarantined_rows

)

select * from renamed
