-- Grain: one row per re-issue scenario (scenario_unit_code, scenario_period) x published
-- indicator x unit of the scenario's half-year report (rpt_indicators as of D, province
-- '04' included): `value` with only that source unit-month moved to its current version,
-- rounded as the report rounds it (contract §6, `contribution` = this value - value_as_of).
-- The report's own numerator and denominator (rpt_indicators) plus the change of the
-- scenario unit's half-year figure (reissue_scenario_unit_halves) for the unit its records
-- count towards (int_report_unit_map) and the province; nothing else moves. A unit-month
-- with no version as of D gives data to a figure that had none (null -> a value) when it
-- counts for it: any month for flows and distinct counts, the half's last month for stocks.
-- depends_on: {{ ref('dim_months') }}
with

scenarios as (

    {{ reissue_scenarios() }}

),

halves as (

    select * from {{ ref('reissue_scenario_unit_halves') }}

),

unit_map as (

    select * from {{ ref('int_report_unit_map') }}

),

units as (

    select * from {{ ref('int_admin_units_resolved') }}

),

catalogue as (

    select * from {{ ref('indicator_catalogue') }}

),

reported as (

    select * from {{ ref('rpt_indicators') }}

),

-- the unit of the report that the scenario month's records count towards (null: the
-- province only)
scenario_units as (

    select
        scenarios.unit_code as scenario_unit_code,
        scenarios.period as scenario_period,
        scenarios.half_year as report_period,
        scenarios.version_as_of,
        scenarios.is_half_year_end_month,
        unit_map.report_unit_code
    from scenarios
    inner join units
        on
            scenarios.unit_code = units.unit_code
            and scenarios.month_start_on between units.unit_valid_from and units.unit_valid_to
    left join unit_map
        on
            scenarios.half_year = unit_map.report_period
            and unit_map.basis = 'current'
            and units.unit_code = unit_map.origin_unit_code
            and units.unit_valid_from = unit_map.origin_unit_valid_from

),

-- the change of each non-ratio indicator's half-year figure (only the scenario month moves)
deltas as (

    select
        scenario_unit_code,
        scenario_period,
        indicator_code,
        sum(case when side = 'moved' then half_year_value else -half_year_value end) as delta
    from halves
    group by scenario_unit_code, scenario_period, indicator_code

),

touched as (

    select
        scenario_units.scenario_unit_code,
        scenario_units.scenario_period,
        scenario_units.version_as_of,
        scenario_units.is_half_year_end_month,
        reported.report_period,
        reported.indicator_code,
        reported.unit_code,
        reported.kind,
        reported.numerator,
        reported.denominator,
        case when reported.kind = 'ratio' then catalogue.numerator_code else reported.indicator_code end
            as numerator_code,
        catalogue.denominator_code,
        reported.unit_code = '04' or reported.unit_code = scenario_units.report_unit_code as is_touched
    from scenario_units
    inner join reported
        on scenario_units.report_period = reported.report_period
    inner join catalogue
        on reported.indicator_code = catalogue.indicator_code

),

moved as (

    select
        touched.*,
        case
            when not touched.is_touched then touched.numerator
            when touched.numerator is not null then touched.numerator + coalesce(numerator_deltas.delta, 0)
            when
                touched.version_as_of is null
                and (numerator_kinds.kind != 'stock' or touched.is_half_year_end_month)
                then coalesce(numerator_deltas.delta, 0)
        end as moved_numerator,
        case
            when touched.kind != 'ratio' or not touched.is_touched then touched.denominator
            when touched.denominator is not null then touched.denominator + coalesce(denominator_deltas.delta, 0)
            when
                touched.version_as_of is null
                and (denominator_kinds.kind != 'stock' or touched.is_half_year_end_month)
                then coalesce(denominator_deltas.delta, 0)
        end as moved_denominator
    from touched
    inner join catalogue as numerator_kinds
        on touched.numerator_code = numerator_kinds.indicator_code
    left join catalogue as denominator_kinds
        on touched.denominator_code = denominator_kinds.indicator_code
    left join deltas as numerator_deltas
        on
            touched.scenario_unit_code = numerator_deltas.scenario_unit_code
            and touched.scenario_period = numerator_deltas.scenario_period
            and touched.numerator_code = numerator_deltas.indicator_code
    left join deltas as denominator_deltas
        on
            touched.scenario_unit_code = denominator_deltas.scenario_unit_code
            and touched.scenario_period = denominator_deltas.scenario_period
            and touched.denominator_code = denominator_deltas.indicator_code

),

final as (

    select
        scenario_unit_code,
        scenario_period,
        report_period,
        indicator_code,
        unit_code,
        cast(moved_numerator as bigint) as numerator,
        cast(moved_denominator as bigint) as denominator,
        {{ div_round_1(
            indicator_value_num('kind', 'moved_numerator'),
            indicator_value_den('kind', 'moved_denominator')
        ) }} as value
    from moved

)

select * from final
