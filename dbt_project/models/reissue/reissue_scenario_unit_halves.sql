-- The SQL linter's jinja templater renders the catalogue loop EMPTY (no run_query at
-- lint time), so layout and unused-CTE rules are not checked in this file:
-- sqlfluff:exclude_rules:LT02,LT05,ST03,AM04,ST06,ST05,RF04
-- Grain: one row per re-issue scenario (scenario_unit_code, scenario_period: a source
-- unit-month whose version in force changed since D) x side ('as_of' | 'moved') x
-- catalogue indicator (all kinds but ratio) x origin unit version of the scenario's unit:
-- that unit's half-year figure (the sum of its half_year_contribution) over the
-- scenario's half, as of D ('as_of') and with only the scenario month moved to its
-- current version ('moved'). Every scenario is a group of ONE query, computed by the same
-- catalogue macro as int_indicator_unit_months (indicator_unit_month_values), so distinct
-- counts ("first seen in the half") and the rice households' latest allocation are
-- recomputed over the scenario's rows. Empty outside a re-issue (macros/reissue.sql).
{{ indicator_depends_on() }}
{%- set indicators = [] -%}
{%- for row in indicator_catalogue_rows() if row['kind'] != 'ratio' -%}
    {%- do indicators.append(row) -%}
{%- endfor %}
{%- set keys = ['scenario_unit_code', 'scenario_period', 'side'] %}

with

months as (

    select * from {{ ref('dim_months') }}

),

{%- if reissue_scenarios_exist() %}

measured as (

    {{ indicator_unit_month_values(indicators, records=reissue_scenario_records, keys=keys) }}

),

{%- else %}

measured as (

    select
        cast(null as varchar) as indicator_code,
        cast(null as varchar) as scenario_unit_code,
        cast(null as varchar) as scenario_period,
        cast(null as varchar) as side,
        cast(null as varchar) as period,
        cast(null as varchar) as origin_unit_code,
        cast(null as date) as origin_unit_valid_from,
        cast(null as bigint) as month_value,
        cast(null as bigint) as half_year_contribution
    from months
    where false

),

{%- endif %}

final as (

    select
        scenario_unit_code,
        scenario_period,
        side,
        indicator_code,
        origin_unit_code,
        origin_unit_valid_from,
        cast(sum(half_year_contribution) as bigint) as half_year_value
    from measured
    group by scenario_unit_code, scenario_period, side, indicator_code, origin_unit_code, origin_unit_valid_from

)

select * from final
