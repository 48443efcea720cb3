-- Every submission of the ledger with the admin unit valid in its month and the
-- current reporting unit it counts towards.
with

submissions as (

    select * from {{ ref('stg_district_export__submissions') }}

),

units as (

    select * from {{ ref('int_admin_units_resolved') }}

),

mapped as (

    select
        submissions.submission_id,
        submissions.unit_code as origin_unit_code,
        units.unit_valid_from as origin_unit_valid_from,
        submissions.period,
        submissions.month_start_on,
        {{ half_year('submissions.month_start_on') }} as half_year,
        submissions.version,
        submissions.submitted_at,
        submissions.submission_status,
        submissions.is_accepted,
        submissions.is_in_force,
        units.current_unit_code
    from submissions
    left join units
        on
            submissions.unit_code = units.unit_code
            and submissions.month_start_on between units.unit_valid_from and units.unit_valid_to

)

select * from mapped
