with

in_force as (

    {{ in_force_rows('overseas_departures') }}

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
        departure_id,
        person_key,
        sex,
        birth_date,
        departed_on,
        country_code,
        contract_months
    from in_force

)

select * from renamed
