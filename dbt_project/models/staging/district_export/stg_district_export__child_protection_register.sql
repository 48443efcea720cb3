with

in_force as (

    {{ in_force_rows('child_protection_register') }}

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
        child_id,
        sex,
        birth_date,
        circumstance,
        identified_on,
        is_receiving_support,
        status
    from in_force

)

select * from renamed
