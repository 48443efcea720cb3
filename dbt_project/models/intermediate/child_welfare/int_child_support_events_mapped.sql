-- One row per in-force child_support_events record, mapped to its current reporting unit.
{{ map_to_current_unit('stg_district_export__child_support_events') }}
