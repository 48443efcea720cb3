-- One row per in-force job_placements record, mapped to its current reporting unit.
{{ map_to_current_unit('stg_district_export__job_placements') }}
