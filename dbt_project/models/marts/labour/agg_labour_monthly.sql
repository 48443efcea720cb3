-- Grain: one row per current district x month with an in-force submission.
-- 0 (not null) when the unit-month was accepted but has no rows of a dataset.
with

submissions as (

    select * from {{ ref('int_submissions_mapped') }}

),

enrolments as (

    select * from {{ ref('fct_vocational_enrolments') }}

),

placements as (

    select * from {{ ref('fct_job_placements') }}

),

departures as (

    select * from {{ ref('fct_overseas_departures') }}

),

loans as (

    select * from {{ ref('fct_employment_fund_loans') }}

),

ui_decisions as (

    select * from {{ ref('fct_unemployment_benefit_decisions') }}

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

enrolments_monthly as (

    select
        current_unit_code,
        period,
        count(*) as vocational_enrolments,
        count(*) filter (where training_level = 'SO_CAP') as vocational_enrolments_so_cap
    from enrolments
    group by all

),

placements_monthly as (

    select
        current_unit_code,
        period,
        count(*) as job_placements,
        count(*) filter (where destination = 'DOMESTIC') as job_placements_domestic,
        count(*) filter (where destination = 'ABROAD') as job_placements_abroad
    from placements
    group by all

),

departures_monthly as (

    select
        current_unit_code,
        period,
        count(*) as overseas_departures
    from departures
    group by all

),

loans_monthly as (

    select
        current_unit_code,
        period,
        count(*) as fund_loans,
        sum(amount_vnd) as fund_loan_amount_vnd,
        sum(jobs_created) as fund_jobs_created
    from loans
    group by all

),

ui_monthly as (

    select
        current_unit_code,
        period,
        count(*) as ui_decisions,
        sum(total_amount_vnd) as ui_amount_vnd
    from ui_decisions
    group by all

),

final as (

    select
        unit_months.current_unit_code,
        unit_months.period,
        unit_months.month_start_on,
        unit_months.half_year,
        unit_months.submissions_in_force,
        coalesce(enrolments_monthly.vocational_enrolments, 0) as vocational_enrolments,
        coalesce(enrolments_monthly.vocational_enrolments_so_cap, 0) as vocational_enrolments_so_cap,
        coalesce(placements_monthly.job_placements, 0) as job_placements,
        coalesce(placements_monthly.job_placements_domestic, 0) as job_placements_domestic,
        coalesce(placements_monthly.job_placements_abroad, 0) as job_placements_abroad,
        coalesce(departures_monthly.overseas_departures, 0) as overseas_departures,
        coalesce(loans_monthly.fund_loans, 0) as fund_loans,
        cast(coalesce(loans_monthly.fund_loan_amount_vnd, 0) as bigint) as fund_loan_amount_vnd,
        cast(coalesce(loans_monthly.fund_jobs_created, 0) as bigint) as fund_jobs_created,
        coalesce(ui_monthly.ui_decisions, 0) as ui_decisions,
        cast(coalesce(ui_monthly.ui_amount_vnd, 0) as bigint) as ui_amount_vnd
    from unit_months
    left join enrolments_monthly
        on
            unit_months.current_unit_code = enrolments_monthly.current_unit_code
            and unit_months.period = enrolments_monthly.period
    left join placements_monthly
        on
            unit_months.current_unit_code = placements_monthly.current_unit_code
            and unit_months.period = placements_monthly.period
    left join departures_monthly
        on
            unit_months.current_unit_code = departures_monthly.current_unit_code
            and unit_months.period = departures_monthly.period
    left join loans_monthly
        on
            unit_months.current_unit_code = loans_monthly.current_unit_code
            and unit_months.period = loans_monthly.period
    left join ui_monthly
        on
            unit_months.current_unit_code = ui_monthly.current_unit_code
            and unit_months.period = ui_monthly.period

)

select * from final
