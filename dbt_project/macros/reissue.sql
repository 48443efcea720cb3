{#- The re-issue's revisions in one pass (contract §6; src/dolisa/reissue.py).
    The re-issue writes, in its scratch warehouse only, the schema `reissue_now`:
      reissue_now.scenarios   the source unit-months whose version in force differs
                              between D and now (unit_code, period, version_as_of,
                              version_now): one scenario each;
      reissue_now.<fct_...>   for each fact an indicator reads, the rows of those
                              unit-months in their CURRENT version (the live warehouse's).
    The scratch's own models hold the report as of D. A scenario moves one unit-month to
    its current version: its rows are the as-of rows of the scenario unit's half with that
    month's rows replaced. The live warehouse never has the schema: the scenario models
    are then empty. -#}
{% macro reissue_scenarios_exist() -%}
    {%- if not execute -%}
        {{ return(false) }}
    {%- endif -%}
    {%- set found = run_query(
        "select count(*) from information_schema.tables where table_catalog = current_database()"
        ~ " and table_schema = 'reissue_now' and table_name = 'scenarios'"
    ) -%}
    {{ return(found.rows[0][0] > 0) }}
{%- endmacro %}

{#- The scenarios, with the half-year of their month (none outside a re-issue). -#}
{% macro reissue_scenarios() -%}
    {%- if reissue_scenarios_exist() -%}
    select
        scenarios.unit_code,
        scenarios.period,
        scenarios.version_as_of,
        scenarios.version_now,
        months.half_year,
        months.is_half_year_end_month,
        months.month_start_on
    from reissue_now.scenarios as scenarios
    inner join {{ ref('dim_months') }} as months on scenarios.period = months.period
    {%- else -%}
    select
        cast(null as varchar) as unit_code,
        cast(null as varchar) as period,
        cast(null as integer) as version_as_of,
        cast(null as integer) as version_now,
        cast(null as varchar) as half_year,
        cast(null as boolean) as is_half_year_end_month,
        cast(null as date) as month_start_on
    where false
    {%- endif -%}
{%- endmacro %}

{#- The rows of an indicator source model for every scenario, on two sides, keyed by
    (scenario_unit_code, scenario_period, side):
      as_of  the scenario unit's rows in the scenario's half, as of D;
      moved  the same with the scenario month's rows in their current version.
    Other units' rows are the same on both sides, so they are left out. -#}
{% macro reissue_scenario_records(model) -%}
    {%- if model == 'int_rice_relief_households_by_half' -%}
        {{ rice_relief_households_by_half(
            '(' ~ reissue_scenario_records('fct_rice_relief_allocations') ~ ')',
            ['scenario_unit_code', 'scenario_period', 'side']
        ) }}
    {%- else -%}
        select
            scenarios.unit_code as scenario_unit_code,
            scenarios.period as scenario_period,
            sides.side,
            held.*
        from {{ ref(model) }} as held
        inner join ({{ reissue_scenarios() }}) as scenarios
            on
                held.origin_unit_code = scenarios.unit_code
                and held.half_year = scenarios.half_year
        cross join (values ('as_of'), ('moved')) as sides (side)
        where sides.side = 'as_of' or held.period != scenarios.period
        union all by name
        select
            scenarios.unit_code as scenario_unit_code,
            scenarios.period as scenario_period,
            'moved' as side,
            now_rows.*
        from reissue_now.{{ model }} as now_rows
        inner join ({{ reissue_scenarios() }}) as scenarios
            on
                now_rows.origin_unit_code = scenarios.unit_code
                and now_rows.period = scenarios.period
    {%- endif -%}
{%- endmacro %}
