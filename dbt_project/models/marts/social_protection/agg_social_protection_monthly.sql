-- Grain: one row per current district x month with an in-force submission.
-- Register figures (allowance_active) are the month's snapshot: a stock, never
-- to be summed across months. 0 when accepted but no rows.
with

submissions as (

    select * from {{ ref('int_submissions_mapped') }}

),

register as (

    select * from {{ ref('fct_social_allowance_register_snapshots') }}

),

movements as (

    select * from {{ ref('fct_social_allowance_movements') }}

),

payments as (

    select * from {{ ref('fct_social_assistance_payments') }}

),

rice as (

    select * from {{ ref('fct_rice_relief_allocations') }}

),

meritorious as (

    select * from {{ ref('fct_meritorious_benefits') }}

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
        count(*) filter (where status = 'ACTIVE') as allowance_active,
        sum(monthly_amount_vnd) filter (where status = 'ACTIVE') as allowance_monthly_amount_vnd
    from register
    group by all

),

movements_monthly as (

    select
        current_unit_code,
        period,
        count(*) filter (where movement_type = 'NEW_APPROVAL') as allowance_new_approvals,
        count(*) filter (where movement_type = 'STOPPED') as allowance_stops
    from movements
    group by all

),

payments_monthly as (

    select
        current_unit_code,
        period,
        count(*) filter (where kind = 'FUNERAL') as funeral_cases,
        sum(amount_vnd) filter (where kind = 'FUNERAL') as funeral_amount_vnd,
        count(*) filter (where kind = 'EMERGENCY') as emergency_cases,
        sum(amount_vnd) filter (where kind = 'EMERGENCY') as emergency_amount_vnd,
        count(*) filter (where kind = 'CENTENARIAN_GIFT') as centenarian_gifts
    from payments
    group by all

),

rice_monthly as (

    select
        current_unit_code,
        period,
        count(*) as rice_allocations,
        sum(rice_kg) as rice_kg,
        count(distinct origin_unit_code || ':' || household_id) as rice_households
    from rice
    group by all

),

meritorious_monthly as (

    select
        current_unit_code,
        period,
        count(*) filter (where benefit = 'TET_GIFT') as tet_gifts,
        sum(amount_vnd) filter (where benefit = 'TET_GIFT') as tet_gift_amount_vnd,
        count(*) filter (where benefit in ('ONE_TIME_ALLOWANCE', 'MONTHLY_ALLOWANCE')) as meritorious_decisions,
        count(*) filter (where benefit in ('CONVALESCENCE_CENTRAL', 'CONVALESCENCE_HOME')) as convalescence_cases
    from meritorious
    group by all

),

final as (

    select
        unit_months.current_unit_code,
        unit_months.period,
        unit_months.month_start_on,
        unit_months.half_year,
        unit_months.submissions_in_force,
        coalesce(register_monthly.allowance_active, 0) as allowance_active,
        cast(coalesce(register_monthly.allowance_monthly_amount_vnd, 0) as bigint) as allowance_monthly_amount_vnd,
        coalesce(movements_monthly.allowance_new_approvals, 0) as allowance_new_approvals,
        coalesce(movements_monthly.allowance_stops, 0) as allowance_stops,
        coalesce(payments_monthly.funeral_cases, 0) as funeral_cases,
        cast(coalesce(payments_monthly.funeral_amount_vnd, 0) as bigint) as funeral_amount_vnd,
        coalesce(payments_monthly.emergency_cases, 0) as emergency_cases,
        cast(coalesce(payments_monthly.emergency_amount_vnd, 0) as bigint) as emergency_amount_vnd,
        coalesce(payments_monthly.centenarian_gifts, 0) as centenarian_gifts,
        coalesce(rice_monthly.rice_allocations, 0) as rice_allocations,
        cast(coalesce(rice_monthly.rice_kg, 0) as bigint) as rice_kg,
        coalesce(rice_monthly.rice_households, 0) as rice_households,
        coalesce(meritorious_monthly.tet_gifts, 0) as tet_gifts,
        cast(coalesce(meritorious_monthly.tet_gift_amount_vnd, 0) as bigint) as tet_gift_amount_vnd,
        coalesce(meritorious_monthly.meritorious_decisions, 0) as meritorious_decisions,
        coalesce(meritorious_monthly.convalescence_cases, 0) as convalescence_cases
    from unit_months
    left join register_monthly
        on
            unit_months.current_unit_code = register_monthly.current_unit_code
            and unit_months.period = register_monthly.period
    left join movements_monthly
        on
            unit_months.current_unit_code = movements_monthly.current_unit_code
            and unit_months.period = movements_monthly.period
    left join payments_monthly
        on
            unit_months.current_unit_code = payments_monthly.current_unit_code
            and unit_months.period = payments_monthly.period
    left join rice_monthly
        on
            unit_months.current_unit_code = rice_monthly.current_unit_code
            and unit_months.period = rice_monthly.period
    left join meritorious_monthly
        on
            unit_months.current_unit_code = meritorious_monthly.current_unit_code
            and unit_months.period = meritorious_monthly.period

)

select * from final
