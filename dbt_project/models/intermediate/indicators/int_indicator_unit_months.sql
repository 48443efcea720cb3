-- The SQL linter's jinja templater renders the catalogue loop EMPTY (no run_query at
-- lint time), so layout and unused-CTE rules are not checked in this file:
-- sqlfluff:exclude_rules:LT02,LT05,ST03,AM04,ST06,ST05,RF04
-- Grain: one row per catalogue indicator (all kinds but ratio, published or not) x
-- submitting unit version x month with a version in force (int_unit_months_in_force).
-- THE figures: the report (int_indicator_values), the area marts and the desk all
-- read them. Generated from the catalogue seed by indicator_unit_month_values()
-- (macros/indicators.sql): adding an indicator is one seed row.
--   month_value: the month's own figure (0 when the version in force has no records);
--   half_year_contribution: what the month adds to its half-year's figure, so that a
--   half-year figure of any kind is the plain sum over its months and units.
{{ indicator_depends_on() }}
{%- set indicators = [] -%}
{%- for row in indicator_catalogue_rows() if row['kind'] != 'ratio' -%}
    {%- do indicators.append(row) -%}
{%- endfor %}

with

unit_months as (

    select * from {{ ref('int_unit_months_in_force') }}

),

months as (

    select * from {{ ref('dim_months') }}

),

catalogue as (

    select * from {{ ref('indicator_catalogue') }}

),

measured as (

    {{ indicator_unit_month_values(indicators) }}

),

indicators as (

    select
        indicator_code,
        kind
    from catalogue
    where
        kind != 'ratio'
        {%- if var('indicator_codes', none) is not none %}
        and indicator_code in ('{{ var("indicator_codes") | join("', '") }}')
        {%- endif %}

),

final as (

    select
        indicators.indicator_code,
        indicators.kind,
        unit_months.period,
        unit_months.half_year,
        unit_months.origin_unit_code,
        unit_months.origin_unit_valid_from,
        unit_months.report_unit_code,
        unit_months.submission_id,
        unit_months.version,
        cast(coalesce(measured.month_value, 0) as bigint) as month_value,
        cast(coalesce(measured.half_year_contribution, 0) as bigint) as half_year_contribution
    from unit_months
    cross join indicators
    left join measured
        on
            unit_months.period = measured.period
            and unit_months.origin_unit_code = measured.origin_unit_code
            and unit_months.origin_unit_valid_from = measured.origin_unit_valid_from
            and indicators.indicator_code = measured.indicator_code

)

select * from final
