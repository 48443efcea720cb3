-- Grain: one row per reporting unit x month with an accepted version in force x dataset of
-- the ledger: the rows loaded (0 when the version in force has no file of the dataset), what
-- the unit's own history says to expect, and how far the month is from it. The report gate's
-- outlier and missing-dataset rules read deviation_score, ratio_to_expected and basis_months
-- (their thresholds live in expectations/report_gate.py; docs/warnings.md says why).
--
-- The history (the statistical definitions; the gate's thresholds are not here):
-- * a unit is the reporting unit its submissions count towards (current_unit_code: Thông
--   Nông's 2020-01 rows belong to Hà Quảng's history); a month counts when it had a version
--   in force;
-- * each basis month b of the unit is moved to this month by how the OTHER units of the
--   province moved between b and this month: rows(b) x (province(m) - rows(m)) /
--   (province(b) - rows(b)). Tết, the rice relief, the start of the school year move every
--   unit of the same month, whatever the calendar month Tết falls in;
-- * two bases: the same month of up to 3 earlier years, and the 6 months before. For each
--   dataset and month the basis whose units agree better (smaller robust spread) is used;
--   a unit without it uses the other one. basis and basis_months say which and how many;
-- * the month is compared on the log scale: log((rows + 0.5) / (expected + 0.5)), centred on
--   the median unit of the same dataset, month and basis; the spread allowed is the units'
--   own spread beyond chance (median absolute deviation, less the Poisson part) plus the
--   Poisson variance of the count itself (1 / mean of the two counts): 3 -> 9 rows is
--   chance, 300 -> 900 is not. A basis shared by fewer than 5 units gets no score.
{% set recent_months = 6 %}
{% set same_month_years = 3 %}
{% set min_peer_units = 5 %}
with

submission_status as (

    select * from {{ ref('fct_submission_status') }}

),

files as (

    select * from {{ ref('fct_file_row_conservation') }}

),

unit_months as (

    -- every unit-month with a version in force
    select
        unit_code,
        period,
        month_start_on,
        half_year,
        current_unit_code
    from submission_status
    where in_force_submission_id is not null

),

datasets as (

    select distinct dataset
    from files
    where file_status = 'accepted' and dataset is not null

),

file_rows as (

    select
        unit_code,
        period,
        dataset,
        sum(rows_loaded) as rows_loaded
    from files
    where is_in_force and file_status = 'accepted'
    group by unit_code, period, dataset

),

unit_series as (

    -- one series per reporting unit and dataset (units merged into it add up)
    select
        unit_months.current_unit_code as unit_code,
        unit_months.period,
        unit_months.month_start_on,
        unit_months.half_year,
        12 * year(unit_months.month_start_on) + month(unit_months.month_start_on) as month_index,
        datasets.dataset,
        cast(coalesce(sum(file_rows.rows_loaded), 0) as bigint) as rows_loaded,
        bool_or(file_rows.rows_loaded is not null) as file_present
    from unit_months
    cross join datasets
    left join file_rows
        on
            unit_months.unit_code = file_rows.unit_code
            and unit_months.period = file_rows.period
            and datasets.dataset = file_rows.dataset
    group by
        unit_months.current_unit_code, unit_months.period, unit_months.month_start_on, unit_months.half_year,
        datasets.dataset

),

province as (

    select
        dataset,
        month_index,
        sum(rows_loaded) as rows_loaded
    from unit_series
    group by dataset, month_index

),

basis_months as (

    select
        'recent_months' as basis,
        months.months_back
    from range(1, {{ recent_months + 1 }}) as months (months_back)
    union all
    select
        'same_month' as basis,
        12 * years.years_back as months_back
    from range(1, {{ same_month_years + 1 }}) as years (years_back)

),

moved as (

    -- each basis month of the unit, moved to this month by the other units' movement
    select
        target.unit_code,
        target.month_index,
        target.dataset,
        target.rows_loaded,
        basis_months.basis,
        history.rows_loaded
        * (this_month.rows_loaded - target.rows_loaded)
        / (that_month.rows_loaded - history.rows_loaded) as moved_rows
    from unit_series as target
    cross join basis_months
    inner join unit_series as history
        on
            target.unit_code = history.unit_code
            and target.dataset = history.dataset
            and target.month_index - basis_months.months_back = history.month_index
    inner join province as this_month
        on target.dataset = this_month.dataset and target.month_index = this_month.month_index
    inner join province as that_month
        on history.dataset = that_month.dataset and history.month_index = that_month.month_index
    where that_month.rows_loaded - history.rows_loaded > 0

),

per_basis as (

    select
        unit_code,
        month_index,
        dataset,
        basis,
        median(moved_rows) as basis_rows,
        count(*) as basis_months,
        ln((any_value(rows_loaded) + 0.5) / (median(moved_rows) + 0.5)) as log_ratio,
        1.0 / ((any_value(rows_loaded) + median(moved_rows)) / 2 + 0.5) as poisson_variance
    from moved
    group by unit_code, month_index, dataset, basis

),

peers as (

    -- how the units of the same dataset, month and basis agree
    select
        dataset,
        month_index,
        basis,
        count(*) as peer_units,
        median(log_ratio) as peer_centre,
        1.4826 * mad(log_ratio) as peer_spread,
        greatest(0, pow(1.4826 * mad(log_ratio), 2) - median(poisson_variance)) as extra_variance
    from per_basis
    group by dataset, month_index, basis
    having count(*) >= {{ min_peer_units }}

),

spread_ranked as (

    -- on a tie the same month of earlier years wins
    select
        dataset,
        month_index,
        basis,
        peer_spread + case when basis = 'same_month' then 0 else 1e-9 end as ranked_spread
    from peers

),

chosen_basis as (

    -- the same month of earlier years when its units agree at least as well as on the recent months
    select
        dataset,
        month_index,
        arg_min(basis, ranked_spread) as basis
    from spread_ranked
    group by dataset, month_index

),

scored as (

    select
        per_basis.*,
        peers.peer_units,
        peers.peer_centre,
        peers.peer_spread,
        peers.extra_variance,
        row_number() over (
            partition by per_basis.unit_code, per_basis.month_index, per_basis.dataset
            order by (per_basis.basis = chosen_basis.basis) desc, per_basis.basis desc
        ) as preference
    from per_basis
    inner join peers
        on
            per_basis.dataset = peers.dataset
            and per_basis.month_index = peers.month_index
            and per_basis.basis = peers.basis
    inner join chosen_basis
        on per_basis.dataset = chosen_basis.dataset and per_basis.month_index = chosen_basis.month_index

),

final as (

    select
        unit_series.unit_code,
        unit_series.period,
        unit_series.half_year,
        unit_series.dataset,
        unit_series.rows_loaded,
        unit_series.file_present,
        scored.basis,
        coalesce(scored.basis_months, 0) as basis_months,
        scored.peer_units,
        scored.basis_rows,
        scored.peer_centre,
        scored.extra_variance,
        greatest(0, (scored.basis_rows + 0.5) * exp(scored.peer_centre) - 0.5) as expected_rows,
        exp(scored.log_ratio - scored.peer_centre) as ratio_to_expected,
        (scored.log_ratio - scored.peer_centre)
        / sqrt(scored.extra_variance + scored.poisson_variance) as deviation_score
    from unit_series
    left join scored
        on
            unit_series.unit_code = scored.unit_code
            and unit_series.month_index = scored.month_index
            and unit_series.dataset = scored.dataset
            and scored.preference = 1

)

select * from final
