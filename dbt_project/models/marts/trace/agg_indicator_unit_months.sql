-- The SQL linter's jinja templater renders the catalogue loops EMPTY (no run_query at
-- lint time), so layout and unused-CTE rules are not checked in this file:
-- sqlfluff:exclude_rules:LT02,ST03,AM04,ST06,ST05,RF04
-- Grain: one row per catalogue indicator (flow, stock and distinct kinds) x submitting
-- unit x month with a version in force. What a figure of the report is made of, for
-- the reporting team's desk: a flow indicator of a half-year is the sum of its months;
-- a stock one is the half's last month; a distinct one counts ids over the six months,
-- so its months may add up to more than the half (an id seen in two months).
-- The value of a unit-month with a version in force but no records is 0.
-- No personal data: counts and sums only.
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
{%- set indicators = [] -%}
{%- for row in indicator_catalogue_rows() if row['kind'] in ('flow', 'stock', 'distinct') -%}
    {%- do indicators.append(row) -%}
{%- endfor %}

with

status as (

    select * from {{ ref('fct_submission_status') }}

),

months as (

    select * from {{ ref('dim_months') }}

),

in_force as (

    select
        unit_code as source_unit_code,
        period,
        half_year,
        current_unit_code,
        in_force_submission_id as submission_id,
        in_force_version as version
    from status
    where in_force_submission_id is not null

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
        records.period,
        records.origin_unit_code as source_unit_code,
        {{ indicator_aggregate(indicator) }} as measure_value
    from {{ ref(indicator['source_model']) }} as records
    inner join months on records.period = months.period
    where ({{ indicator['filter_sql'] if indicator['filter_sql'] else 'true' }})
    group by records.period, records.origin_unit_code

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
            cast(null as varchar) as period,
            cast(null as varchar) as source_unit_code,
            cast(null as bigint) as measure_value
        where false
    {%- endfor %}

),

final as (

    select
        catalogue.indicator_code,
        catalogue.kind,
        in_force.half_year,
        in_force.current_unit_code as unit_code,
        in_force.source_unit_code,
        in_force.period,
        in_force.submission_id,
        in_force.version,
        cast(coalesce(measured.measure_value, 0) as bigint) as value
    from in_force
    cross join catalogue
    left join measured
        on
            in_force.period = measured.period
            and in_force.source_unit_code = measured.source_unit_code
            and catalogue.indicator_code = measured.indicator_code

)

select * from final
