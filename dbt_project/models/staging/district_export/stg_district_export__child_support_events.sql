with

in_force as (

    {{ in_force_rows('child_support_events') }}

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
        event_id,
        child_id,
        sex,
        birth_date,
        support,
        event_on,
        amount_vnd
    from in_force

)

select * from renamed
