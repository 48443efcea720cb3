-- Grain: one row per calendar month, from var calendar_first_month to
-- var calendar_last_month, widened to the months present in the ledger.
with

ledger as (

    select
        min(month_start_on) as first_month_on,
        max(month_start_on) as last_month_on
    from {{ ref('stg_district_export__submissions') }}

),

bounds as (

    select
        least(
            cast('{{ var("calendar_first_month") }}-01' as date),
            coalesce(ledger.first_month_on, cast('{{ var("calendar_first_month") }}-01' as date))
        ) as first_month_on,
        greatest(
            cast('{{ var("calendar_last_month") }}-01' as date),
            coalesce(ledger.last_month_on, cast('{{ var("calendar_last_month") }}-01' as date))
        ) as last_month_on
    from ledger

),

months as (

    select cast(unnest(generate_series(first_month_on, last_month_on, interval 1 month)) as date) as month_start_on
    from bounds

),

final as (

    select
        strftime(month_start_on, '%Y-%m') as period,
        month_start_on,
        last_day(month_start_on) as month_end_on,
        cast(year(month_start_on) as integer) as calendar_year,
        cast(month(month_start_on) as integer) as calendar_month,
        {{ half_year('month_start_on') }} as half_year,
        case
            when month(month_start_on) <= 6 then make_date(year(month_start_on), 1, 1)
            else make_date(year(month_start_on), 7, 1)
        end as half_start_on,
        case
            when month(month_start_on) <= 6 then make_date(year(month_start_on), 6, 30)
            else make_date(year(month_start_on), 12, 31)
        end as half_end_on,
        month(month_start_on) in (6, 12) as is_half_year_end_month,
        -- submission deadline: end of the 5th day of the next month, Asia/Ho_Chi_Minh.
        -- deadline_at is the first instant AFTER the deadline (day 6, 00:00 +07).
        cast(strftime(month_start_on + interval 1 month, '%Y-%m') || '-06 00:00:00+07' as timestamptz) as deadline_at
    from months

)

select * from final
