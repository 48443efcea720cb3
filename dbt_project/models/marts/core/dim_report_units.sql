-- Grain: one row per half-year x unit of that half-year's report: THE definition
-- of "the units of a report" (contract §7): the reporting units valid on the
-- half's last day (the districts up to 2025-H1, the 56 communes and wards from
-- 2025-H2). has_same_period_basis: the unit, or units that count towards it
-- (int_report_unit_map), existed in every month of the same half a year before;
-- when false the unit has no same-period value (a commune in 2025-H2 and 2026-H1;
-- from 2026-H2 its own earlier data serves). A later reform is new rows in the
-- admin_units seed, no change here.
with

admin_units as (

    select * from {{ ref('admin_units') }}

),

unit_map as (

    select * from {{ ref('int_report_unit_map') }}

),

months as (

    select * from {{ ref('dim_months') }}

),

half_years as (

    select * from {{ ref('dim_half_years') }}

),

report_units as (

    select
        half_years.half_year as report_period,
        half_years.half_end_on as report_end_on,
        admin_units.unit_code,
        admin_units.valid_from as unit_valid_from,
        admin_units.name_vi as unit_name_vi,
        admin_units.unit_type,
        admin_units.former_district_code
    from half_years
    inner join admin_units
        on
            half_years.half_end_on between admin_units.valid_from
            and coalesce(admin_units.valid_to, date '9999-12-31')
            and admin_units.unit_type != 'province'

),

-- months of the same half a year before in which some unit counting towards the
-- report unit existed
same_period_months as (

    select
        unit_map.report_period,
        unit_map.report_unit_code,
        count(distinct months.period) as same_period_months_covered
    from unit_map
    inner join admin_units as origins
        on
            unit_map.origin_unit_code = origins.unit_code
            and unit_map.origin_unit_valid_from = origins.valid_from
    inner join months
        on
            unit_map.basis_half_year = months.half_year
            and origins.valid_from <= months.month_start_on
            and coalesce(origins.valid_to, date '9999-12-31') >= months.month_end_on
    where unit_map.basis = 'same_period' and unit_map.report_unit_code is not null
    group by unit_map.report_period, unit_map.report_unit_code

),

final as (

    select
        report_units.report_period,
        report_units.unit_code,
        report_units.unit_valid_from,
        report_units.unit_name_vi,
        report_units.unit_type,
        report_units.former_district_code,
        former_districts.name_vi as former_district_name_vi,
        coalesce(same_period_months.same_period_months_covered, 0) as same_period_months_covered,
        coalesce(same_period_months.same_period_months_covered, 0) = 6 as has_same_period_basis
    from report_units
    -- the district that held the re-used commune code on the eve of the unit's start
    left join admin_units as former_districts
        on
            report_units.former_district_code = former_districts.unit_code
            and report_units.unit_valid_from - 1 between former_districts.valid_from
            and coalesce(former_districts.valid_to, date '9999-12-31')
    left join same_period_months
        on
            report_units.report_period = same_period_months.report_period
            and report_units.unit_code = same_period_months.report_unit_code

)

select * from final
