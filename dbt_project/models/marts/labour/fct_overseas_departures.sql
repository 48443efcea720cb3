-- Grain: one row per worker who left to work abroad, from the in-force submission of its unit and month.
-- Incremental: the pre-hook (delete_superseded_submissions) removes rows of
-- submissions no longer in force; only submissions not loaded yet are appended.
-- depends_on: {{ ref('stg_district_export__submissions') }}
with

records as (

    select * from {{ ref('int_overseas_departures_mapped') }}

),

new_records as (

    select *
    from records
    where {{ new_submissions_only('records') }}

)

select * from new_records
