-- Grain: one row per half-year with data x published catalogue indicator x unit
-- (each current district and the province '04'). Rules: indicators.md.
-- Values are carried as exact fractions (value_num / value_den) so that every
-- percentage is rounded once, half away from zero, on exact integers.
with

catalogue as (

    select * from {{ ref('indicator_catalogue') }}

),

indicator_values as (

    select * from {{ ref('int_indicator_values') }}

),

plan_targets as (

    select * from {{ ref('stg_district_export__plan_targets') }}

),

units as (

    select * from {{ ref('dim_admin_units') }}

),

published as (

    select * from catalogue
    where is_published

),

district_base_values as (

    select
        indicator_values.half_year as report_period,
        published.indicator_code,
        indicator_values.current_unit_code as unit_code,
        indicator_values.indicator_value as numerator,
        cast(null as bigint) as denominator
    from published
    inner join indicator_values
        on published.indicator_code = indicator_values.indicator_code
    where published.kind != 'ratio'

),

district_ratio_values as (

    select
        numerators.half_year as report_period,
        published.indicator_code,
        numerators.current_unit_code as unit_code,
        numerators.indicator_value as numerator,
        denominators.indicator_value as denominator
    from published
    inner join indicator_values as numerators
        on published.numerator_code = numerators.indicator_code
    inner join indicator_values as denominators
        on
            published.denominator_code = denominators.indicator_code
            and numerators.half_year = denominators.half_year
            and numerators.current_unit_code = denominators.current_unit_code
    where published.kind = 'ratio'

),

district_values as (

    select * from district_base_values
    union all
    select * from district_ratio_values

),

-- Province = sum of the districts; a ratio is recomputed from the summed
-- numerator and denominator (never a sum or mean of district percentages).
province_values as (

    select
        report_period,
        indicator_code,
        '04' as unit_code,
        cast(sum(numerator) as bigint) as numerator,
        cast(sum(denominator) as bigint) as denominator
    from district_values
    group by report_period, indicator_code

),

all_values as (

    select * from district_values
    union all
    select * from province_values

),

-- value = value_num / value_den exactly; null when there is no value.
fractions as (

    select
        all_values.*,
        published.kind,
        case
            when published.kind = 'ratio' then cast(all_values.numerator as hugeint) * 100
            else cast(all_values.numerator as hugeint)
        end as value_num,
        case
            when published.kind = 'ratio' then nullif(cast(all_values.denominator as hugeint), 0)
            else cast(1 as hugeint)
        end as value_den
    from all_values
    inner join published on all_values.indicator_code = published.indicator_code

),

compared as (

    select
        current_period.*,
        same_period.value_num as same_period_num,
        same_period.value_den as same_period_den,
        plan_targets.target_value as plan_value
    from fractions as current_period
    left join fractions as same_period
        on
            current_period.indicator_code = same_period.indicator_code
            and current_period.unit_code = same_period.unit_code
            and same_period.report_period
            = cast(cast(left(current_period.report_period, 4) as integer) - 1 as varchar)
            || right(current_period.report_period, 3)
    left join plan_targets
        on
            current_period.indicator_code = plan_targets.indicator_code
            and current_period.unit_code = plan_targets.unit_code
            and cast(left(current_period.report_period, 4) as integer) = plan_targets.plan_year

),

final as (

    select
        compared.report_period,
        compared.indicator_code,
        compared.unit_code,
        {{ div_round_1('compared.value_num', 'compared.value_den') }} as value,
        compared.plan_value,
        {{ div_round_1('compared.value_num * 100', 'compared.value_den * compared.plan_value') }} as pct_of_plan,
        {{ div_round_1('compared.same_period_num', 'compared.same_period_den') }} as same_period_value,
        {{ div_round_1(
            'compared.value_num * 100 * compared.same_period_den',
            'compared.value_den * compared.same_period_num'
        ) }} as pct_of_same_period,
        compared.numerator,
        compared.denominator,
        cast(compared.value_num as double) / cast(compared.value_den as double) as value_unrounded,
        cast(compared.same_period_num as double) / cast(compared.same_period_den as double)
            as same_period_value_unrounded,
        published.sort_order,
        published.area,
        published.label_vi,
        published.label_en,
        published.unit_vi,
        published.kind,
        units.unit_name_vi,
        compared.unit_code = '04' as is_province
    from compared
    inner join published on compared.indicator_code = published.indicator_code
    left join units
        on
            compared.unit_code = units.unit_code
            and units.is_current

)

select * from final
