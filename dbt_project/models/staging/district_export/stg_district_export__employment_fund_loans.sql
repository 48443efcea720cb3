with

in_force as (

    {{ in_force_rows('employment_fund_loans') }}

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
        loan_id,
        person_key,
        borrower_type,
        disbursed_on,
        amount_vnd,
        jobs_created
    from in_force

)

select * from renamed
