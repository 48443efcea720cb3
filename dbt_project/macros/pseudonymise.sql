{#- Keyed pseudonym of a citizen id: sha256(key || ':' || id).
    The key is the dbt var `pseudonym_key` (no default: dbt fails when it is not
    given). src/dolisa/dbt.py passes it from DOLISA_PSEUDONYM_KEY. -#}
{% macro pseudonym_key() -%}
    {%- set key = var('pseudonym_key') | string -%}
    {%- if execute and (key | length < 16 or key | lower in ('unset', 'changeme', 'none')) -%}
        {{ exceptions.raise_compiler_error("dbt var pseudonym_key is unset or shorter than 16 characters: set DOLISA_PSEUDONYM_KEY") }}
    {%- endif -%}
    {{ return(key) }}
{%- endmacro %}

{% macro person_key(column_name) -%}
    case
        when {{ column_name }} is not null
            then sha256('{{ pseudonym_key() | replace("'", "''") }}' || ':' || {{ column_name }})
    end
{%- endmacro %}
