-- One row per in-force social_assistance_payments record, mapped to its current reporting unit.
{{ map_to_current_unit('stg_district_export__social_assistance_payments') }}
