-- Grain: one row per unit x month x dataset of the version in force, with the
-- rows loaded and the unit's own history: the median and count of the same
-- dataset's rows over the unit's previous 12 months (versions in force).
-- ratio_to_history_median is what the report gate's outlier expectation reads.
with

files as (

    select * from {{ ref('fct_file_row_conservation') }}

),

in_force as (

    select
        unit_code,
        period,
        half_year,
        dataset,
        cast(strptime(period, '%Y-%m') as date) as month_start_on,
        sum(rows_loaded) as rows_loaded
    from files
    where is_in_force and file_status = 'accepted'
    group by unit_code, period, half_year, dataset

),

with_history as (

    select
        in_force.unit_code,
        in_force.period,
        in_force.half_year,
        in_force.dataset,
        in_force.rows_loaded,
        median(history.rows_loaded) as history_median,
        count(history.rows_loaded) as history_months
    from in_force
    left join in_force as history
        on
            in_force.unit_code = history.unit_code
            and in_force.dataset = history.dataset
            and in_force.month_start_on > history.month_start_on
            and in_force.month_start_on - interval 12 month <= history.month_start_on
    group by in_force.unit_code, in_force.period, in_force.half_year, in_force.dataset, in_force.rows_loaded

),

final as (

    select
        *,
        case when history_median > 0 then rows_loaded / history_median end as ratio_to_history_median
    from with_history

)

select * from final
