-- One row per in-force social_allowance_register record, mapped to its current reporting unit.
{{ map_to_current_unit('stg_district_export__social_allowance_register') }}
