-- Grain: one row per current district x month with an in-force submission.
-- Register figures are the month's snapshot (stock). 0 when accepted but no rows.
with

submissions as (

    select * from {{ ref('int_submissions_mapped') }}

),

register as (

    select * from {{ ref('fct_child_protection_register_snapshots') }}

),

support_events as (

    select * from {{ ref('fct_child_support_events') }}

),

unit_months as (

    select
        current_unit_code,
        period,
        any_value(month_start_on) as month_start_on,
        any_value(half_year) as half_year,
        count(*) as submissions_in_force
    from submissions
    where is_in_force
    group by current_unit_code, period

),

register_monthly as (

    select
        current_unit_code,
        period,
        count(*) filter (where status = 'ACTIVE') as special_children_active,
        count(*) filter (where status = 'ACTIVE' and is_receiving_support) as special_children_supported
    from register
    group by all

),

events_monthly as (

    select
        current_unit_code,
        period,
        count(*) as support_events,
        count(*) filter (where support = 'DISABILITY_SCREENING') as screenings,
        count(*) filter (where support = 'SURGERY_REFERRAL') as surgery_referrals,
        count(*) filter (where support = 'MILK_FUND') as milk_fund_events,
        count(*) filter (where support = 'SCHOLARSHIP') as scholarships,
        sum(amount_vnd) filter (where support = 'SCHOLARSHIP') as scholarship_amount_vnd,
        count(*) filter (where support = 'EMERGENCY_SUPPORT') as emergency_supports,
        sum(amount_vnd) filter (where support = 'EMERGENCY_SUPPORT') as emergency_amount_vnd
    from support_events
    group by all

),

final as (

    select
        unit_months.current_unit_code,
        unit_months.period,
        unit_months.month_start_on,
        unit_months.half_year,
        unit_months.submissions_in_force,
        coalesce(register_monthly.special_children_active, 0) as special_children_active,
        coalesce(register_monthly.special_children_supported, 0) as special_children_supported,
        coalesce(events_monthly.support_events, 0) as support_events,
        coalesce(events_monthly.screenings, 0) as screenings,
        coalesce(events_monthly.surgery_referrals, 0) as surgery_referrals,
        coalesce(events_monthly.milk_fund_events, 0) as milk_fund_events,
        coalesce(events_monthly.scholarships, 0) as scholarships,
        cast(coalesce(events_monthly.scholarship_amount_vnd, 0) as bigint) as scholarship_amount_vnd,
        coalesce(events_monthly.emergency_supports, 0) as emergency_supports,
        cast(coalesce(events_monthly.emergency_amount_vnd, 0) as bigint) as emergency_amount_vnd
    from unit_months
    left join register_monthly
        on
            unit_months.current_unit_code = register_monthly.current_unit_code
            and unit_months.period = register_monthly.period
    left join events_monthly
        on
            unit_months.current_unit_code = events_monthly.current_unit_code
            and unit_months.period = events_monthly.period

)

select * from final
