with

plan_targets as (

    select * from {{ source('district_export_ledger', 'plan_targets') }}

),

renamed as (

    select
        cast(year as integer) as plan_year,
        indicator_code,
        unit_code,
        cast(target_value as bigint) as target_value
    from plan_targets

)

select * from renamed
