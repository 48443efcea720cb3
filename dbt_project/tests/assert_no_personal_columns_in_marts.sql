-- Fails the night (severity error): personal data above the raw zone is a breach, never a data defect.
{{ config(severity='error') }}
-- No model of the marts or reports (nor staging / intermediate) exposes a name
-- or a raw citizen id. The depends_on lines make this test run after the marts.
-- depends_on: {{ ref('rpt_indicators') }}
-- depends_on: {{ ref('agg_labour_unit_months') }}
-- depends_on: {{ ref('agg_social_protection_unit_months') }}
-- depends_on: {{ ref('agg_child_welfare_unit_months') }}
-- depends_on: {{ ref('fct_submission_status') }}
-- depends_on: {{ ref('fct_quarantine_reasons') }}
-- depends_on: {{ ref('dim_codes') }}
select
    table_schema,
    table_name,
    column_name
from information_schema.columns
where
    table_schema in ('staging', 'intermediate', 'marts', 'reports')
    and lower(column_name) in ('full_name', 'citizen_id', 'borrower_citizen_id', 'record')
