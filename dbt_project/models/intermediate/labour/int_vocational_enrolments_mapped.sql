-- One row per in-force vocational_enrolments record, mapped to its current reporting unit.
{{ map_to_current_unit('stg_district_export__vocational_enrolments') }}
