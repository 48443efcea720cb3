{#- The indicator catalogue (seeds/indicator_catalogue.csv) as a list of rows,
    read at execution time. Read through the seed node of the graph (not ref) so
    that unit tests and normal runs read the same, real, seed table.
    var indicator_codes (a list, optional) restricts the rows: used by unit tests
    and handy to debug one indicator. -#}
{% macro indicator_catalogue_rows() %}
    {%- if not execute -%}
        {{ return([]) }}
    {%- endif -%}
    {%- set node = (graph.get('nodes') or {}).get('seed.dolisa.indicator_catalogue') -%}
    {%- if node -%}
        {%- set relation = api.Relation.create(database=node.database, schema=node.schema, identifier=node.alias) -%}
    {%- else -%}
        {#- unit tests have no graph: the seed's schema is set in dbt_project.yml -#}
        {%- set relation = api.Relation.create(database=target.database, schema='reference', identifier='indicator_catalogue') -%}
    {%- endif -%}
    {%- set result = run_query('select * from ' ~ relation ~ ' order by sort_order, indicator_code') -%}
    {%- set rows = [] -%}
    {%- for row in result.rows -%}
        {%- set item = {} -%}
        {%- for column_name in result.column_names -%}
            {%- do item.update({column_name: row[column_name]}) -%}
        {%- endfor -%}
        {%- if item['kind'] not in ('flow', 'stock', 'distinct', 'household_persons', 'ratio') -%}
            {{ exceptions.raise_compiler_error("indicator_catalogue: unknown kind " ~ item['kind'] ~ " of " ~ item['indicator_code']) }}
        {%- endif -%}
        {%- if item['kind'] != 'ratio' and item['aggregate'] not in ('count', 'sum', 'count_distinct') -%}
            {{ exceptions.raise_compiler_error("indicator_catalogue: unknown aggregate " ~ item['aggregate'] ~ " of " ~ item['indicator_code']) }}
        {%- endif -%}
        {%- if var('indicator_codes', none) is none or item['indicator_code'] in var('indicator_codes') -%}
            {%- do rows.append(item) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(rows) }}
{% endmacro %}

{#- a + b as sum() over the two parts gives it: null only when both are null. -#}
{% macro sum_of_parts(a, b) -%}
    (case when {{ a }} is null and {{ b }} is null then null else coalesce({{ a }}, 0) + coalesce({{ b }}, 0) end)
{%- endmacro %}

{#- The models the catalogue's source_model column may name. dbt resolves ref() when it
    parses a model, before any seed is loaded, so it cannot read them from the catalogue:
    the one model that reads the catalogue's source models (int_indicator_unit_months)
    declares these dependencies with indicator_depends_on(), and a catalogue row that
    names a model not listed here stops the build with a message that says so. -#}
{% macro indicator_source_models() %}
    {{ return([
        'fct_vocational_enrolments',
        'fct_job_placements',
        'fct_overseas_departures',
        'fct_employment_fund_loans',
        'fct_unemployment_benefit_decisions',
        'fct_social_allowance_register_snapshots',
        'fct_social_assistance_payments',
        'fct_rice_relief_allocations',
        'fct_meritorious_benefits',
        'fct_child_protection_register_snapshots',
        'fct_child_support_events',
        'int_rice_relief_households_by_half',
    ]) }}
{% endmacro %}

{#- `-- depends_on:` lines (read by dbt at parse time) for the catalogue and every model
    of indicator_source_models(). -#}
{% macro indicator_depends_on() -%}
-- depends_on: {{ ref('indicator_catalogue') }}
{% for model in indicator_source_models() -%}
-- depends_on: {{ ref(model) }}
{% endfor -%}
{%- endmacro %}

{#- THE catalogue-to-SQL macro. For every catalogue row but ratios: one select over its
    source model, all unioned. Grain of the result: indicator x origin unit version x month
    with records of it (indicator_code, period, origin_unit_code, origin_unit_valid_from):
      month_value             the month's own figure: records counted or summed in the
                              month (flow, household_persons, stock), distinct ids in the
                              month (distinct);
      half_year_contribution  what the month adds to its half-year's figure, so that every
                              kind is a plain sum over the half's months and units:
                              flow and household_persons: the month's value;
                              stock: the value in the half's last month, 0 in the others;
                              distinct: the ids first seen in the half in this month (ids
                              are (origin unit code, id) pairs: unique only within a unit).
    `months` must be a CTE of dim_months in the calling model.
    The re-issue's scenarios (reissue_scenario_unit_halves) call it with `records`, a
    macro giving the rows of a source model (default: ref of it), and `keys`, extra columns
    of those rows that the figures are computed per (each scenario a group of one query). -#}
{% macro indicator_unit_month_values(indicators, records=none, keys=[]) -%}
    {%- for indicator in indicators %}
        {%- if indicator['source_model'] not in indicator_source_models() -%}
            {{ exceptions.raise_compiler_error("indicator_catalogue: " ~ indicator['indicator_code'] ~ " reads " ~ indicator['source_model'] ~ ", which is not in indicator_source_models() (macros/indicators.sql): add it there") }}
        {%- endif -%}
        {%- if (indicator['kind'] == 'distinct') != (indicator['aggregate'] == 'count_distinct') -%}
            {{ exceptions.raise_compiler_error("indicator_catalogue: " ~ indicator['indicator_code'] ~ ": kind distinct goes with aggregate count_distinct, and only with it") }}
        {%- endif -%}
        {%- set measure = 'records.' ~ indicator['measure_column'] -%}
        {%- set where = indicator['filter_sql'] if indicator['filter_sql'] else 'true' %}
    select
        '{{ indicator["indicator_code"] }}' as indicator_code,
        {%- for key in keys %}
        records.{{ key }},
        {%- endfor %}
        records.period,
        records.origin_unit_code,
        records.origin_unit_valid_from,
        {%- if indicator['kind'] == 'distinct' %}
        count(distinct records.item) as month_value,
        count(distinct records.item) filter (where records.is_first_in_half) as half_year_contribution
    from (
        select
            {%- for key in keys %}
            records.{{ key }},
            {%- endfor %}
            records.period,
            records.origin_unit_code,
            records.origin_unit_valid_from,
            {{ measure }} as item,
            records.period = min(records.period) over (
                partition by {% for key in keys %}records.{{ key }}, {% endfor %}months.half_year, records.origin_unit_code, {{ measure }}
            ) as is_first_in_half
        from {{ indicator_records(indicator['source_model'], records) }} as records
        inner join months on records.period = months.period
        where ({{ where }})
    ) as records
        {%- else %}
            {%- set value = ('count(' ~ measure ~ ')') if indicator['aggregate'] == 'count' else ('coalesce(sum(' ~ measure ~ '), 0)') %}
        {{ value }} as month_value,
        {%- if indicator['kind'] == 'stock' %}
        case when any_value(months.is_half_year_end_month) then {{ value }} else 0 end as half_year_contribution
        {%- else %}
        {{ value }} as half_year_contribution
        {%- endif %}
    from {{ indicator_records(indicator['source_model'], records) }} as records
    inner join months on records.period = months.period
    where ({{ where }})
        {%- endif %}
    group by {% for key in keys %}records.{{ key }}, {% endfor %}records.period, records.origin_unit_code, records.origin_unit_valid_from
    {% if not loop.last %}union all{% endif %}
    {%- else %}
    select
        cast(null as varchar) as indicator_code,
        {%- for key in keys %}
        cast(null as varchar) as {{ key }},
        {%- endfor %}
        cast(null as varchar) as period,
        cast(null as varchar) as origin_unit_code,
        cast(null as date) as origin_unit_valid_from,
        cast(null as bigint) as month_value,
        cast(null as bigint) as half_year_contribution
    where false
    {%- endfor %}
{%- endmacro %}

{#- The rows of an indicator source model: ref(model), or the macro `records` (the
    re-issue's scenario rows) called with the model's name. -#}
{% macro indicator_records(model, records=none) -%}
    {%- if records is none -%}
        {{ ref(model) }}
    {%- else -%}
        ({{ records(model) }})
    {%- endif -%}
{%- endmacro %}

{#- THE household rule of SP_RICE_PERSONS (indicators.md): per half-year and (origin unit,
    household_id), the household's latest allocation of the half (latest distributed_on;
    on a tie the largest household_size). `allocations` is a relation or a subquery of
    fct_rice_relief_allocations rows; `keys` extra columns to partition by (the re-issue's
    scenarios). Used by int_rice_relief_households_by_half and the scenario rows. -#}
{% macro rice_relief_households_by_half(allocations, keys=[]) -%}
    select
        {%- for key in keys %}
        allocations.{{ key }},
        {%- endfor %}
        allocations.half_year,
        allocations.origin_unit_code,
        allocations.origin_unit_valid_from,
        allocations.household_id,
        allocations.current_unit_code,
        allocations.period,
        allocations.distributed_on,
        allocations.household_size,
        allocations.allocation_id,
        allocations.submission_id
    from {{ allocations }} as allocations
    qualify row_number() over (
            partition by {% for key in keys %}allocations.{{ key }}, {% endfor %}allocations.half_year, allocations.origin_unit_code, allocations.household_id
            order by allocations.distributed_on desc, allocations.household_size desc, allocations.allocation_id desc
        ) = 1
{%- endmacro %}
