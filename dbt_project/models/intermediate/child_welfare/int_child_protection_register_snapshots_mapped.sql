-- One row per in-force child_protection_register record, mapped to its current reporting unit.
{{ map_to_current_unit('stg_district_export__child_protection_register') }}
