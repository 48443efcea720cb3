-- One row per in-force employment_fund_loans record, mapped to its current reporting unit.
{{ map_to_current_unit('stg_district_export__employment_fund_loans') }}
