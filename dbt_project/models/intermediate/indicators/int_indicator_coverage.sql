-- Grain: one row per half-year that has data x current district. Says whether
-- the district (any of the units mapped to it) has an in-force (accepted)
-- submission in the half (flow and distinct indicators) and in the half's last
-- month (stock indicators). No accepted submission -> the indicator is empty
-- (null); accepted but no records -> 0.
with

submissions as (

    select * from {{ ref('int_submissions_mapped') }}

),

units as (

    select * from {{ ref('int_admin_units_resolved') }}

),

halves as (

    select distinct half_year
    from submissions
    where is_in_force

),

current_districts as (

    select
        unit_code as current_unit_code,
        unit_name_vi as current_unit_name_vi
    from units
    where is_current

),

accepted as (

    select
        half_year,
        current_unit_code,
        count(*) as submissions_in_force,
        count(distinct period) as months_accepted,
        bool_or(month(month_start_on) in (6, 12)) as has_accepted_last_month
    from submissions
    where is_in_force
    group by half_year, current_unit_code

),

final as (

    select
        halves.half_year,
        current_districts.current_unit_code,
        current_districts.current_unit_name_vi,
        coalesce(accepted.submissions_in_force, 0) as submissions_in_force,
        coalesce(accepted.months_accepted, 0) as months_accepted,
        accepted.half_year is not null as has_accepted_month,
        coalesce(accepted.has_accepted_last_month, false) as has_accepted_last_month
    from halves
    cross join current_districts
    left join accepted
        on
            halves.half_year = accepted.half_year
            and current_districts.current_unit_code = accepted.current_unit_code

)

select * from final
