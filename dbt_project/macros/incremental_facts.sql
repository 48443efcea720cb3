{#- Incremental facts keep the rows of in-force submissions only.
    pre-hook: delete the rows of every submission that is no longer in force
    (a revised unit-month: its old version's rows go, also when the new version
    has no rows for the dataset). The model then appends the rows of in-force
    submissions not loaded yet (see new_submissions_only). History is never
    rebuilt. -#}
{% macro delete_superseded_submissions() -%}
    {%- if is_incremental() -%}
        delete from {{ this }}
        where submission_id not in (
            select submission_id
            from {{ ref('stg_district_export__submissions') }}
            where is_in_force
        )
    {%- else -%}
        select 1 as nothing_to_delete
    {%- endif -%}
{%- endmacro %}

{% macro new_submissions_only(alias) -%}
    {%- if is_incremental() -%}
        {{ alias }}.submission_id not in (select distinct loaded.submission_id from {{ this }} as loaded)
    {%- else -%}
        true
    {%- endif -%}
{%- endmacro %}
