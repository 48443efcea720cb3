-- Fails the night (severity error): the report models broke their own arithmetic.
{{ config(severity='error') }}
-- rpt_indicators: the province value is the sum of the district values, except
-- ratios, whose numerator and denominator are summed instead.
with

report as (

    select * from {{ ref('rpt_indicators') }}

),

districts as (

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
    districts.numerator_sum
from province
inner join districts using (report_period, indicator_code)
where
    province.numerator is distinct from districts.numerator_sum
    or province.denominator is distinct from districts.denominator_sum
