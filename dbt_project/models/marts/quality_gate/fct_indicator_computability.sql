-- Grain: one row per half-year of the calendar x published catalogue indicator x
-- current district. is_computable: the district has a value for the indicator
-- (int_indicator_values), or, for a percentage, for both its numerator and its
-- denominator (a zero denominator gives an empty percentage, which is allowed).
-- The province value is the districts' sum, so it is computable when they are.
with

catalogue as (

    select * from {{ ref('indicator_catalogue') }}

),

indicator_values as (

    select * from {{ ref('int_indicator_values') }}

),

units as (

    select * from {{ ref('dim_admin_units') }}

),

months as (

    select * from {{ ref('dim_months') }}

),

halves as (

    select distinct half_year
    from months

),

districts as (

    select unit_code
    from units
    where is_current and is_district_level

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
        halves.half_year,
        published.indicator_code,
        published.kind,
        published.numerator_code,
        published.denominator_code,
        districts.unit_code
    from halves
    cross join published
    cross join districts

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
    left join indicator_values as numerators
        on
            grid.half_year = numerators.half_year
            and grid.numerator_code = numerators.indicator_code
            and grid.unit_code = numerators.current_unit_code
    left join indicator_values as denominators
        on
            grid.half_year = denominators.half_year
            and grid.denominator_code = denominators.indicator_code
            and grid.unit_code = denominators.current_unit_code

)

select * from final
