-- One row per in-force overseas_departures record, mapped to its current reporting unit.
{{ map_to_current_unit('stg_district_export__overseas_departures') }}
