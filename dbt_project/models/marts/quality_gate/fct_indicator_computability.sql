-- Grain: one row per half-year of the calendar x published catalogue indicator x
-- unit of that half-year's report (dim_report_units). is_computable: the unit has a
-- value for the indicator (int_indicator_values), or, for a percentage, for both its
-- numerator and its denominator (a zero denominator gives an empty percentage, which is
-- allowed). The province value is the units' sum, so it is computable when they are.
with

catalogue as (

    select * from {{ ref('indicator_catalogue') }}

),

indicator_values as (

    select * from {{ ref('int_indicator_values') }}

),

report_units as (

    select * from {{ ref('dim_report_units') }}

),

current_values as (

    select * from indicator_values
    where basis = 'current'

),

published as (

    select
        indicator_code,
        kind,
        coalesce(numerator_code, indicator_code) as numerator_code,
        denominator_code
    from catalogue
    where is_published

),

grid as (

    select
        report_units.report_period as half_year,
        published.indicator_code,
        published.kind,
        published.numerator_code,
        published.denominator_code,
        report_units.unit_code
    from report_units
    cross join published

),

final as (

    select
        grid.half_year,
        grid.indicator_code,
        grid.unit_code,
        grid.kind,
        numerators.indicator_value as numerator_value,
        denominators.indicator_value as denominator_value,
        numerators.indicator_value is not null
        and (grid.denominator_code is null or denominators.indicator_value is not null) as is_computable
    from grid
    left join current_values as numerators
        on
            grid.half_year = numerators.report_period
            and grid.numerator_code = numerators.indicator_code
            and grid.unit_code = numerators.report_unit_code
    left join current_values as denominators
        on
            grid.half_year = denominators.report_period
            and grid.denominator_code = denominators.indicator_code
            and grid.unit_code = denominators.report_unit_code

)

select * from final
