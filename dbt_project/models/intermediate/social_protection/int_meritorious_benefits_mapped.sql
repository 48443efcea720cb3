-- One row per in-force meritorious_benefits record, mapped to its current reporting unit.
{{ map_to_current_unit('stg_district_export__meritorious_benefits') }}
