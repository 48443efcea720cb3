-- Grain: one row per half-year x (origin unit, household_id): the household's
-- size at its LATEST allocation of the half (latest distributed_on; on a tie the
-- largest household_size). Summing household_size gives SP_RICE_PERSONS.
-- period = the month of that latest allocation (used to join dim_months).
-- The rule is the macro rice_relief_households_by_half() (macros/indicators.sql), which
-- the re-issue's scenarios apply to their own rows.
with

allocations as (

    select * from {{ ref('fct_rice_relief_allocations') }}

),

latest_per_household as (

    {{ rice_relief_households_by_half('allocations') }}

)

select * from latest_per_household
