-- Grain: one row per beneficiary movement read from the monthly register
-- snapshots: NEW_APPROVAL when approved_on lies in the snapshot's month, STOPPED
-- when the snapshot shows the beneficiary as STOPPED (that month only).
-- Incremental like the facts it reads: a submission's movements come from that
-- submission's snapshot rows only, so they are appended and removed with it.
-- depends_on: {{ ref('stg_district_export__submissions') }}
with

all_snapshots as (

    select * from {{ ref('fct_social_allowance_register_snapshots') }}

),

snapshots as (

    select *
    from all_snapshots
    where {{ new_submissions_only('all_snapshots') }}

),

new_approvals as (

    select
        'NEW_APPROVAL' as movement_type,
        approved_on as movement_on,
        *
    from snapshots
    where approved_on between month_start_on and last_day(month_start_on)

),

stops as (

    select
        'STOPPED' as movement_type,
        stopped_on as movement_on,
        *
    from snapshots
    where status = 'STOPPED'

),

movements as (

    select * from new_approvals
    union all
    select * from stops

)

select * from movements
