{#- In-force rows of one raw.<dataset> table: for each (unit_code, period) the
    highest version whose meta.submissions.status = 'accepted'. A dataset absent
    from that version simply has no rows for the unit-month. Used by the staging
    models only (the only layer that calls source()). -#}
{% macro in_force_rows(dataset) -%}
    select raw_rows.*
    from {{ source('district_export', dataset) }} as raw_rows
    inner join ({{ in_force_submissions() }}) as in_force
        on raw_rows.submission_id = in_force.submission_id
{%- endmacro %}

{#- THE definition of the version in force (contract §2 "Versions", §6 "As of a date").
    For each (unit_code, period): the highest version that COUNTS, where a version
    counts when meta.submissions.status = 'accepted' and, when the var `as_of`
    (YYYY-MM-DD) is set, it was submitted before 00:00 of the day after `as_of` in
    Asia/Ho_Chi_Minh. Without `as_of` every accepted version counts (the current report).
    The var `in_force_overrides` (a list of {unit_code, period, version}; version null
    = no version), or the table meta.in_force_overrides when the var
    `in_force_overrides_table` is true, replaces the version in force of the listed
    unit-months: the
    re-issue's one-at-a-time scenarios (src/dolisa/reissue.py) move one source
    unit-month to its current version and build the same rpt_ models.
    Returns submission_id, unit_code, period, version. -#}
{% macro in_force_submissions() -%}
    {%- set overrides = var('in_force_overrides', []) or [] -%}
    {%- set from_table = var('in_force_overrides_table', false) -%}
    select counted.submission_id, counted.unit_code, counted.period, counted.version
    from (
        select submission_id, unit_code, period, version
        from {{ source('district_export_ledger', 'submissions') }}
        where status = 'accepted' and {{ counts_as_of('submitted_at') }}
        qualify row_number() over (
            partition by unit_code, period order by version desc
        ) = 1
    ) as counted
    {%- if overrides or from_table %}
    where not exists (
        select 1
        from ({{ in_force_overrides_sql(overrides, from_table) }}) as moved
        where moved.unit_code = counted.unit_code and moved.period = counted.period
    )
    union all
    select chosen.submission_id, chosen.unit_code, chosen.period, chosen.version
    from {{ source('district_export_ledger', 'submissions') }} as chosen
    inner join ({{ in_force_overrides_sql(overrides, from_table) }}) as moved
        on
            chosen.unit_code = moved.unit_code
            and chosen.period = moved.period
            and chosen.version = moved.version
    where chosen.status = 'accepted'
    {%- endif %}
{%- endmacro %}

{#- The overridden unit-months: the var's list, or (var in_force_overrides_table = true)
    the table meta.in_force_overrides that only the re-issue's scratch warehouse has:
    its rows change between dbt runs while the vars do not, so dbt parses once. -#}
{% macro in_force_overrides_sql(overrides, from_table) -%}
    {%- if from_table -%}
        select unit_code, period, version from meta.in_force_overrides
    {%- else -%}
        select * from (values
        {%- for o in overrides %}
            ('{{ o["unit_code"] }}', '{{ o["period"] }}', {{ 'cast(null as integer)' if o["version"] is none else (o["version"] | int) }}){% if not loop.last %},{% endif %}
        {%- endfor %}
        ) as moved_values (unit_code, period, version)
    {%- endif -%}
{%- endmacro %}

{#- The as-of cut-off (contract §6): a version exists as of `as_of` when it was
    submitted before 00:00 of the next day in Asia/Ho_Chi_Minh (UTC+7). True for
    every version when the var `as_of` is not set. -#}
{% macro counts_as_of(submitted_at_expr) -%}
    {%- set as_of = var('as_of', none) -%}
    {%- if as_of -%}
        {#- 00:00 +07 of D plus 24 hours (Viet Nam has no daylight saving time) -#}
        ({{ submitted_at_expr }} < cast('{{ as_of }} 00:00:00+07:00' as timestamptz) + interval 24 hour)
    {%- else -%}
        true
    {%- endif -%}
{%- endmacro %}

{#- Half-year label of a date: 2021-03-15 -> '2021-H1'. -#}
{% macro half_year(date_expr) -%}
    (cast(year({{ date_expr }}) as varchar) || '-H' || case when month({{ date_expr }}) <= 6 then '1' else '2' end)
{%- endmacro %}

{#- Records of a staging dataset model mapped to their CURRENT reporting unit.
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
