-- Grain: one row per half-year x (origin unit, household_id): the household's
-- size at its LATEST allocation of the half (latest distributed_on; on a tie the
-- largest household_size). Summing household_size gives SP_RICE_PERSONS.
-- period = the month of that latest allocation (used to join dim_months).
with

allocations as (

    select * from {{ ref('fct_rice_relief_allocations') }}

),

latest_per_household as (

    select
        half_year,
        origin_unit_code,
        origin_unit_valid_from,
        household_id,
        current_unit_code,
        period,
        distributed_on,
        household_size,
        allocation_id,
        submission_id
    from allocations
    qualify row_number() over (
            partition by half_year, origin_unit_code, household_id
            order by distributed_on desc, household_size desc, allocation_id desc
        ) = 1

)

select * from latest_per_household
