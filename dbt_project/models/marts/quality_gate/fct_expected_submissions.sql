-- Grain: one row per reporting unit valid in the whole month x calendar
-- month (dim_months). The one definition of "expected unit": a unit is expected
-- to submit for every month in which it is valid (admin_units seed), whether or
-- not the ledger has anything for it (13 units in January 2020, 10 from
-- February 2020 to June 2025, the 56 communes and wards from July 2025).
with

units as (

    select * from {{ ref('dim_admin_units') }}

),

months as (

    select * from {{ ref('dim_months') }}

),

expected as (

    select
        units.unit_code,
        months.period,
        months.month_start_on,
        months.half_year,
        months.deadline_at,
        units.unit_name_vi,
        units.current_unit_code
    from months
    inner join units
        on
            months.month_start_on >= units.valid_from
            and months.month_end_on <= coalesce(units.valid_to, date '9999-12-31')
            and units.is_reporting_unit

)

select * from expected
