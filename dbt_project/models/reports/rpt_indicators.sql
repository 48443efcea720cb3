-- Grain: one row per half-year with data x published catalogue indicator x unit
-- (each unit of that half-year's report, dim_report_units, and the province '04').
-- Rules: indicators.md and contract §7. Values are carried as exact fractions
-- (value_num / value_den) so that every percentage is rounded once, half away from
-- zero, on exact integers. Each value is computed on two bases
-- (int_indicator_values): the half itself and the same half a year before, with
-- the records of every unit mapped to the unit of THIS report they count towards.
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

report_units as (

    select * from {{ ref('dim_report_units') }}

),

admin_units as (

    select * from {{ ref('admin_units') }}

),

published as (

    select * from catalogue
    where is_published

),

base_values as (

    select
        indicator_values.report_period,
        indicator_values.basis,
        published.indicator_code,
        indicator_values.report_unit_code,
        indicator_values.indicator_value as numerator,
        cast(null as bigint) as denominator
    from published
    inner join indicator_values
        on published.indicator_code = indicator_values.indicator_code
    where published.kind != 'ratio'

),

ratio_values as (

    select
        numerators.report_period,
        numerators.basis,
        published.indicator_code,
        numerators.report_unit_code,
        numerators.indicator_value as numerator,
        denominators.indicator_value as denominator
    from published
    inner join indicator_values as numerators
        on published.numerator_code = numerators.indicator_code
    inner join indicator_values as denominators
        on
            published.denominator_code = denominators.indicator_code
            and numerators.report_period = denominators.report_period
            and numerators.basis = denominators.basis
            and numerators.report_unit_code is not distinct from denominators.report_unit_code
    where published.kind = 'ratio'

),

mapped_values as (

    select * from base_values
    union all
    select * from ratio_values

),

unit_values as (

    select
        report_period,
        basis,
        indicator_code,
        report_unit_code as unit_code,
        numerator,
        denominator
    from mapped_values
    where report_unit_code is not null

),

-- Province = sum over every unit that existed in the basis half (also those that
-- count towards no unit of this report); a ratio is recomputed from the summed
-- numerator and denominator (never a sum or mean of unit percentages).
province_values as (

    select
        report_period,
        basis,
        indicator_code,
        '04' as unit_code,
        cast(sum(numerator) as bigint) as numerator,
        cast(sum(denominator) as bigint) as denominator
    from mapped_values
    group by report_period, basis, indicator_code

),

all_values as (

    select * from unit_values
    union all
    select * from province_values

),

-- value = value_num / value_den exactly; null when there is no value.
fractions as (

    select
        all_values.*,
        published.kind,
        {{ indicator_value_num('published.kind', 'all_values.numerator') }} as value_num,
        {{ indicator_value_den('published.kind', 'all_values.denominator') }} as value_den
    from all_values
    inner join published on all_values.indicator_code = published.indicator_code

),

compared as (

    select
        current_period.*,
        report_units.unit_name_vi,
        report_units.unit_valid_from,
        report_units.unit_type,
        report_units.former_district_code,
        coalesce(report_units.has_same_period_basis, current_period.unit_code = '04') as has_same_period_basis,
        same_period.value_num as same_period_num,
        same_period.value_den as same_period_den,
        plan_targets.target_value as plan_value
    from fractions as current_period
    left join report_units
        on
            current_period.report_period = report_units.report_period
            and current_period.unit_code = report_units.unit_code
    -- a unit (unlike the province) has a same-period value only when it, or units
    -- that count towards it, existed in every month of the same half a year before
    left join fractions as same_period
        on
            current_period.report_period = same_period.report_period
            and current_period.indicator_code = same_period.indicator_code
            and current_period.unit_code = same_period.unit_code
            and same_period.basis = 'same_period'
            and (current_period.unit_code = '04' or report_units.has_same_period_basis)
    left join plan_targets
        on
            current_period.indicator_code = plan_targets.indicator_code
            and current_period.unit_code = plan_targets.unit_code
            and cast(left(current_period.report_period, 4) as integer) = plan_targets.plan_year
    where current_period.basis = 'current'

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
        coalesce(compared.unit_name_vi, province.name_vi) as unit_name_vi,
        compared.unit_type,
        compared.unit_valid_from,
        compared.former_district_code,
        compared.has_same_period_basis,
        compared.unit_code = '04' as is_province
    from compared
    inner join published on compared.indicator_code = published.indicator_code
    left join admin_units as province
        on
            compared.unit_code = province.unit_code
            and province.unit_type = 'province'

)

select * from final
