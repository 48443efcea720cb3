-- One row per in-force vocational_enrolments record, mapped to its current district.
{{ map_to_current_unit('stg_district_export__vocational_enrolments') }}
