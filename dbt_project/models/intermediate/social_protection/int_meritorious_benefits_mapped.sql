-- One row per in-force meritorious_benefits record, mapped to its current district.
{{ map_to_current_unit('stg_district_export__meritorious_benefits') }}
