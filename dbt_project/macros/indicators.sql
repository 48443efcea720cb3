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

{#- Aggregate expression of one catalogue row over `records`. A distinct count
    counts distinct (unit of origin, id) pairs: ids are unique only within a unit. -#}
{% macro indicator_aggregate(indicator) -%}
    {%- set measure = 'records.' ~ indicator['measure_column'] -%}
    {%- if indicator['aggregate'] == 'count' -%}
        count({{ measure }})
    {%- elif indicator['aggregate'] == 'sum' -%}
        coalesce(sum({{ measure }}), 0)
    {%- else -%}
        count(distinct records.origin_unit_code || ':' || {{ measure }})
    {%- endif -%}
{%- endmacro %}

{#- a + b as sum() over the two parts gives it: null only when both are null. -#}
{% macro sum_of_parts(a, b) -%}
    (case when {{ a }} is null and {{ b }} is null then null else coalesce({{ a }}, 0) + coalesce({{ b }}, 0) end)
{%- endmacro %}
