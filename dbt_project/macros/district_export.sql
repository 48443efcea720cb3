{#- In-force rows of one raw.<dataset> table: for each (unit_code, period) the
    highest version whose meta.submissions.status = 'accepted'. A dataset absent
    from that version simply has no rows for the unit-month. Used by the staging
    models only (the only layer that calls source()). -#}
{% macro in_force_rows(dataset) -%}
    select raw_rows.*
    from {{ source('raw', dataset) }} as raw_rows
    inner join ({{ in_force_submissions() }}) as in_force
        on raw_rows.submission_id = in_force.submission_id
{%- endmacro %}

{% macro in_force_submissions() -%}
    select submission_id
    from {{ source('meta', 'submissions') }}
    where status = 'accepted'
    qualify row_number() over (
        partition by unit_code, period order by version desc
    ) = 1
{%- endmacro %}

{#- Half-year label of a date: 2021-03-15 -> '2021-H1'. -#}
{% macro half_year(date_expr) -%}
    (cast(year({{ date_expr }}) as varchar) || '-H' || case when month({{ date_expr }}) <= 6 then '1' else '2' end)
{%- endmacro %}

{#- Records of a staging dataset model mapped to their CURRENT district.
    The submitting unit (unit_code) is only unique with the period: the join uses
    the admin unit valid in the record's month, then follows successor_code
    (int_admin_units_resolved). origin_unit_code keeps the submitting unit. -#}
{% macro map_to_current_unit(staging_model) -%}
with

records as (

    select * from {{ ref(staging_model) }}

),

units as (

    select * from {{ ref('int_admin_units_resolved') }}

),

mapped as (

    select
        records.submission_id,
        records.version,
        records.period,
        records.month_start_on,
        {{ half_year('records.month_start_on') }} as half_year,
        records.unit_code as origin_unit_code,
        units.unit_valid_from as origin_unit_valid_from,
        units.current_unit_code,
        records.* exclude (submission_id, version, period, month_start_on, unit_code)
    from records
    left join units
        on
            records.unit_code = units.unit_code
            and records.month_start_on between units.unit_valid_from and units.unit_valid_to

)

select * from mapped
{%- endmacro %}
