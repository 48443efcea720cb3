-- Fails the night (severity error): the report models broke their own arithmetic.
{{ config(severity='error') }}

-- rpt_indicators: the province value is the sum of the values of the report's units plus
-- those of units that count towards no unit of the report (a unit that ended within the
-- half without a successor: int_indicator_values with report_unit_code null), except
-- ratios, whose numerator and denominator are summed instead.
with

report as (

    select * from {{ ref('rpt_indicators') }}

),

catalogue as (

    select * from {{ ref('indicator_catalogue') }}

),

province_only as (

    select * from {{ ref('int_indicator_values') }}
    where basis = 'current' and report_unit_code is null

),

province_only_sums as (

    select
        report_period,
        indicator_code,
        sum(indicator_value) as value_sum
    from province_only
    group by all

),

province_only_values as (

    select
        numerators.report_period,
        catalogue.indicator_code,
        numerators.value_sum as numerator_rest,
        denominators.value_sum as denominator_rest
    from catalogue
    inner join province_only_sums as numerators
        on coalesce(catalogue.numerator_code, catalogue.indicator_code) = numerators.indicator_code
    left join province_only_sums as denominators
        on
            catalogue.denominator_code = denominators.indicator_code
            and numerators.report_period = denominators.report_period
    where catalogue.is_published

),

units as (

    select
        report_period,
        indicator_code,
        sum(numerator) as numerator_sum,
        sum(denominator) as denominator_sum
    from report
    where not is_province
    group by all

),

province as (

    select * from report
    where is_province

)

select
    province.report_period,
    province.indicator_code,
    province.numerator,
    units.numerator_sum
from province
inner join units on province.report_period = units.report_period and province.indicator_code = units.indicator_code
left join province_only_values
    on
        province.report_period = province_only_values.report_period
        and province.indicator_code = province_only_values.indicator_code
where
    province.numerator is distinct from {{ sum_of_parts('units.numerator_sum', 'province_only_values.numerator_rest') }}
    or province.denominator
    is distinct from {{ sum_of_parts('units.denominator_sum', 'province_only_values.denominator_rest') }}
