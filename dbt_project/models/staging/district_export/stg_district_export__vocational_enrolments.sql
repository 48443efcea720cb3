with

in_force as (

    {{ in_force_rows('vocational_enrolments') }}

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
        enrolment_id,
        person_key,
        sex,
        birth_date,
        training_level,
        occupation,
        institution_code,
        enrolled_on,
        is_rural_worker
    from in_force

)

select * from renamed
