-- Grain: one row per indicator of the area (catalogue) x reporting unit x submitting unit x month
-- with a version in force. Figures only (macros/area_marts.sql).
{{ indicator_area_mart('child_welfare') }}
