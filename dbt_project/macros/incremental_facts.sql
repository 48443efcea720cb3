{#- Incremental facts keep the rows of in-force submissions, as last loaded.
    A submission's rows are identified by (submission_id, loaded_at): dolisa.load
    stamps every row of a version and its ledger entry with the same loaded_at, and a
    reload (`dolisa load --reload`, a rebuild) gives it a new one.
    pre-hook: delete the rows of every submission that is no longer in force (a
    revised unit-month: its old version's rows go, also when the new version has no
    rows for the dataset), and of every submission reloaded since it was appended.
    The model then appends the rows of in-force submissions it does not hold as
    loaded (see new_submissions_only). So an incremental build always equals a full
    refresh (tests/integration/test_operations.py). -#}
{% macro delete_superseded_submissions() -%}
    {%- if is_incremental() -%}
        delete from {{ this }} as held
        where not exists (
            select 1
            from {{ ref('stg_district_export__submissions') }} as current_load
            where
                current_load.is_in_force
                and current_load.submission_id = held.submission_id
                and current_load.loaded_at is not distinct from held.loaded_at
        )
    {%- else -%}
        select 1 as nothing_to_delete
    {%- endif -%}
{%- endmacro %}

{% macro new_submissions_only(alias) -%}
    {%- if is_incremental() -%}
        not exists (
            select 1
            from {{ this }} as loaded
            where
                loaded.submission_id = {{ alias }}.submission_id
                and loaded.loaded_at is not distinct from {{ alias }}.loaded_at
        )
    {%- else -%}
        true
    {%- endif -%}
{%- endmacro %}
