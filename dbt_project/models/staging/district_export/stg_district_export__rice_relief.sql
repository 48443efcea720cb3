with

in_force as (

    {{ in_force_rows('rice_relief') }}

),

renamed as (

    select
        submission_id,
        unit_code,
        period,
        cast(period || '-01' as date) as month_start_on,
        version,
        source_row,
        loaded_at,
        allocation_id,
        household_id,
        household_size,
        rice_kg,
        distributed_on,
        occasion
    from in_force

)

select * from renamed
