-- One row per in-force unemployment_benefit_decisions record, mapped to its current reporting unit.
{{ map_to_current_unit('stg_district_export__unemployment_benefit_decisions') }}
