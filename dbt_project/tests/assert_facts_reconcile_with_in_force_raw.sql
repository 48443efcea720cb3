-- Fails the night (severity error): the facts lost or invented rows of the versions in force.
{{ config(severity='error') }}
-- Row counts reconcile: raw rows of the in-force version of every unit-month
-- (macros/district_export.sql in_force_submissions(), also as of a date) = rows of the fact.
-- Returns the datasets that differ.
{% set pairs = [
    ('vocational_enrolments', 'fct_vocational_enrolments'),
    ('job_placements', 'fct_job_placements'),
    ('overseas_departures', 'fct_overseas_departures'),
    ('employment_fund_loans', 'fct_employment_fund_loans'),
    ('unemployment_benefit_decisions', 'fct_unemployment_benefit_decisions'),
    ('social_allowance_register', 'fct_social_allowance_register_snapshots'),
    ('social_assistance_payments', 'fct_social_assistance_payments'),
    ('rice_relief', 'fct_rice_relief_allocations'),
    ('meritorious_benefits', 'fct_meritorious_benefits'),
    ('child_protection_register', 'fct_child_protection_register_snapshots'),
    ('child_support_events', 'fct_child_support_events'),
] %}
with

in_force as (

    {{ in_force_submissions() }}

),

counts as (
    {% for dataset, fact in pairs %}
    select
        '{{ dataset }}' as dataset,
        (
            select count(*)
            from {{ source('district_export', dataset) }} as raw_rows
            inner join in_force on raw_rows.submission_id = in_force.submission_id
        ) as raw_in_force_rows,
        (select count(*) from {{ ref(fact) }}) as fact_rows
    {% if not loop.last %}union all{% endif %}
    {% endfor %}
)

select *
from counts
where raw_in_force_rows != fact_rows
