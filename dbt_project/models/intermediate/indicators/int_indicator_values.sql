-- Grain: one row per report half-year with data x basis ('current' | the
-- 'same_period' a year before) x catalogue indicator (all kinds but ratio,
-- published or not) x unit of that report (int_indicator_coverage; null = records
-- that count towards the province only). A half-year figure is the sum of the
-- half_year_contribution of the basis half's unit-months (int_indicator_unit_months,
-- generated from the catalogue), each counted for the unit its submitting unit maps
-- to in that report (int_report_unit_map).
-- indicator_value: null when no unit counting towards it has an accepted submission
-- (in the half, or for stocks in its last month), 0 when accepted but no records.
with

coverage as (

    select * from {{ ref('int_indicator_coverage') }}

),

unit_map as (

    select * from {{ ref('int_report_unit_map') }}

),

unit_months as (

    select * from {{ ref('int_indicator_unit_months') }}

),

catalogue as (

    select * from {{ ref('indicator_catalogue') }}

),

indicators as (

    select
        indicator_code,
        kind
    from catalogue
    where kind != 'ratio'

),

measured as (

    select
        unit_map.report_period,
        unit_map.basis,
        unit_map.report_unit_code,
        unit_months.indicator_code,
        sum(unit_months.half_year_contribution) as measure_value
    from unit_months
    inner join unit_map
        on
            unit_months.half_year = unit_map.basis_half_year
            and unit_months.origin_unit_code = unit_map.origin_unit_code
            and unit_months.origin_unit_valid_from = unit_map.origin_unit_valid_from
    group by unit_map.report_period, unit_map.basis, unit_map.report_unit_code, unit_months.indicator_code

),

final as (

    select
        coverage.report_period,
        coverage.basis,
        indicators.indicator_code,
        coverage.report_unit_code,
        indicators.kind,
        case
            when indicators.kind = 'stock' then coverage.has_accepted_last_month
            else coverage.has_accepted_month
        end as has_accepted_data,
        case
            when
                (indicators.kind = 'stock' and coverage.has_accepted_last_month)
                or (indicators.kind != 'stock' and coverage.has_accepted_month)
                then cast(coalesce(measured.measure_value, 0) as bigint)
        end as indicator_value
    from coverage
    cross join indicators
    left join measured
        on
            coverage.report_period = measured.report_period
            and coverage.basis = measured.basis
            and coverage.report_unit_code is not distinct from measured.report_unit_code
            and indicators.indicator_code = measured.indicator_code

)

select * from final
