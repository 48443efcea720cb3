-- Grain: one row per half-year of the calendar (dim_months): THE definition of a
-- half-year and of its same period a year before, read by every model that needs
-- half-years (the report's units, the unit map, the coverage of indicators).
with

months as (

    select * from {{ ref('dim_months') }}

),

halves as (

    select
        half_year,
        min(half_start_on) as half_start_on,
        max(half_end_on) as half_end_on,
        max(period) as last_period
    from months
    group by half_year

),

final as (

    select
        half_year,
        half_start_on,
        half_end_on,
        last_period,
        {{ half_year('half_start_on - interval 1 year') }} as same_period_half_year,
        cast(half_start_on - interval 1 year as date) as same_period_start_on,
        cast(half_end_on - interval 1 year as date) as same_period_end_on
    from halves

)

select * from final
