with

in_force as (

    {{ in_force_rows('meritorious_benefits') }}

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
        case_id,
        person_key,
        benefit,
        decided_on,
        amount_vnd
    from in_force

)

select * from renamed
