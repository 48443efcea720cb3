with

in_force as (

    {{ in_force_rows('job_placements') }}

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
        placement_id,
        person_key,
        sex,
        birth_date,
        placed_on,
        destination,
        employer_name,
        country_code
    from in_force

)

select * from renamed
