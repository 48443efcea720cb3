-- The SQL linter's jinja templater renders the catalogue loops EMPTY (no run_query at
-- lint time), so layout and unused-CTE rules are not checked in this file:
-- sqlfluff:exclude_rules:LT02,ST03,AM04,ST06,ST05,RF04
-- Grain: one row per report half-year with data x basis ('current' | the
-- 'same_period' a year before) x catalogue indicator (all kinds but ratio,
-- published or not) x unit of that report (int_indicator_coverage; null = records
-- that count towards the province only). Generated from the catalogue seed: one CTE
-- per indicator, so adding an indicator is one seed row. Each record is counted for
-- the unit its submitting unit maps to in that report (int_report_unit_map).
--   flow / distinct / household_persons: records of the six months of the basis half;
--   stock: the register snapshot of the basis half's last month.
-- indicator_value: null when no unit counting towards it has an accepted submission
-- (in the half, or for stocks in its last month), 0 when accepted but no records.
-- A new SOURCE model must also be listed here:
-- depends_on: {{ ref('indicator_catalogue') }}
-- depends_on: {{ ref('fct_vocational_enrolments') }}
-- depends_on: {{ ref('fct_job_placements') }}
-- depends_on: {{ ref('fct_overseas_departures') }}
-- depends_on: {{ ref('fct_employment_fund_loans') }}
-- depends_on: {{ ref('fct_unemployment_benefit_decisions') }}
-- depends_on: {{ ref('fct_social_allowance_register_snapshots') }}
-- depends_on: {{ ref('fct_social_assistance_payments') }}
-- depends_on: {{ ref('fct_rice_relief_allocations') }}
-- depends_on: {{ ref('fct_meritorious_benefits') }}
-- depends_on: {{ ref('fct_child_protection_register_snapshots') }}
-- depends_on: {{ ref('fct_child_support_events') }}
-- depends_on: {{ ref('int_rice_relief_households_by_half') }}
{%- set indicators = [] -%}
{%- for row in indicator_catalogue_rows() if row['kind'] != 'ratio' -%}
    {%- do indicators.append(row) -%}
{%- endfor %}

with

coverage as (

    select * from {{ ref('int_indicator_coverage') }}

),

months as (

    select * from {{ ref('dim_months') }}

),

unit_map as (

    select * from {{ ref('int_report_unit_map') }}

),

catalogue as (

    {% for indicator in indicators -%}
        select
            '{{ indicator["indicator_code"] }}' as indicator_code,
            '{{ indicator["kind"] }}' as kind
        {% if not loop.last %}union all{% endif %}
    {% else -%}
        select
            cast(null as varchar) as indicator_code,
            cast(null as varchar) as kind
        where false
    {%- endfor %}

),
{% for indicator in indicators %}
{{ indicator['indicator_code'] | lower }} as (

    select
        '{{ indicator["indicator_code"] }}' as indicator_code,
        unit_map.report_period,
        unit_map.basis,
        unit_map.report_unit_code,
        {{ indicator_aggregate(indicator) }} as measure_value
    from {{ ref(indicator['source_model']) }} as records
    inner join months on records.period = months.period
    inner join unit_map
        on
            months.half_year = unit_map.basis_half_year
            and records.origin_unit_code = unit_map.origin_unit_code
            and records.origin_unit_valid_from = unit_map.origin_unit_valid_from
    where
        ({{ indicator['filter_sql'] if indicator['filter_sql'] else 'true' }})
        {%- if indicator['kind'] == 'stock' %}
        and months.is_half_year_end_month
        {%- endif %}
    group by unit_map.report_period, unit_map.basis, unit_map.report_unit_code

),
{% endfor %}
measured as (

    {% for indicator in indicators -%}
    select * from {{ indicator['indicator_code'] | lower }}
    {% if not loop.last %}union all
    {% endif -%}
    {% else -%}
        select
            cast(null as varchar) as indicator_code,
            cast(null as varchar) as report_period,
            cast(null as varchar) as basis,
            cast(null as varchar) as report_unit_code,
            cast(null as bigint) as measure_value
        where false
    {%- endfor %}

),

final as (

    select
        coverage.report_period,
        coverage.basis,
        catalogue.indicator_code,
        coverage.report_unit_code,
        catalogue.kind,
        case
            when catalogue.kind = 'stock' then coverage.has_accepted_last_month
            else coverage.has_accepted_month
        end as has_accepted_data,
        case
            when
                (catalogue.kind = 'stock' and coverage.has_accepted_last_month)
                or (catalogue.kind != 'stock' and coverage.has_accepted_month)
                then cast(coalesce(measured.measure_value, 0) as bigint)
        end as indicator_value
    from coverage
    cross join catalogue
    left join measured
        on
            coverage.report_period = measured.report_period
            and coverage.basis = measured.basis
            and coverage.report_unit_code is not distinct from measured.report_unit_code
            and catalogue.indicator_code = measured.indicator_code

)

select * from final
