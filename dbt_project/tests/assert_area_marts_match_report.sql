-- Fails the night (severity error): an area mart the reporting team queries disagrees
-- with the report, so one of them no longer comes from the catalogue's one definition.
{{ config(severity='error') }}

-- For every indicator, unit and half-year of rpt_indicators (ratios aside, they are
-- computed from two indicators), the area mart's figure over the half, taken as the
-- catalogue's kind says, equals the report's value:
--   flow: the sum of the months' values;
--   stock: the value of the half's last month;
--   distinct, household_persons: the sum of half_year_contribution (the ids first seen
--   in the half in each month; the households' persons at their latest allocation).
with

report as (

    select * from {{ ref('rpt_indicators') }}

),

half_years as (

    select * from {{ ref('dim_half_years') }}

),

area_months as (

    select * from {{ ref('agg_labour_unit_months') }}
    union all
    select * from {{ ref('agg_social_protection_unit_months') }}
    union all
    select * from {{ ref('agg_child_welfare_unit_months') }}

),

area_figures as (

    select
        area_months.half_year,
        area_months.unit_code,
        area_months.indicator_code,
        case any_value(area_months.kind)
            when 'flow' then sum(area_months.month_value)
            when 'stock' then sum(area_months.month_value) filter (where area_months.period = half_years.last_period)
            else sum(area_months.half_year_contribution)
        end as area_value
    from area_months
    inner join half_years
        on area_months.half_year = half_years.half_year
    group by area_months.half_year, area_months.unit_code, area_months.indicator_code

),

compared as (

    select
        report.report_period,
        report.unit_code,
        report.indicator_code,
        report.value as report_value,
        area_figures.area_value
    from report
    left join area_figures
        on
            report.report_period = area_figures.half_year
            and report.unit_code = area_figures.unit_code
            and report.indicator_code = area_figures.indicator_code
    where report.kind != 'ratio' and report.unit_code != '04'

)

select * from compared
where report_value is distinct from area_value
