-- One row per in-force rice_relief record, mapped to its current reporting unit.
{{ map_to_current_unit('stg_district_export__rice_relief') }}
