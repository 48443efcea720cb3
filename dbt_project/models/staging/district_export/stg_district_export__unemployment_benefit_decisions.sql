with

in_force as (

    {{ in_force_rows('unemployment_benefit_decisions') }}

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
        decision_id,
        person_key,
        sex,
        decided_on,
        benefit_months,
        total_amount_vnd
    from in_force

)

select * from renamed
