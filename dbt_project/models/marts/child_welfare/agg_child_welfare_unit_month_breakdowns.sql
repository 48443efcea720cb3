-- Grain: one row per reporting unit (and the province '04') x month x dataset x breakdown x
-- category. Figures only; small sensitive cells are suppressed at publish (macros/area_marts.sql).
{{ breakdown_area_mart('child_welfare') }}
