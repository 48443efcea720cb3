with

in_force as (

    {{ in_force_rows('social_assistance_payments') }}

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
        payment_id,
        person_key,
        kind,
        paid_on,
        amount_vnd
    from in_force

)

select * from renamed
