with

in_force as (

    {{ in_force_rows('social_allowance_register') }}

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
        beneficiary_id,
        person_key,
        sex,
        birth_date,
        category,
        monthly_amount_vnd,
        approved_on,
        status,
        stopped_on
    from in_force

)

select * from renamed
