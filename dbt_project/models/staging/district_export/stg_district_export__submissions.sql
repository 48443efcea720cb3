with

submissions as (

    select * from {{ source('meta', 'submissions') }}

),

ranked as (

    select
        submission_id,
        unit_code,
        period,
        cast(period || '-01' as date) as month_start_on,
        version,
        submitted_at,
        landed_at,
        status as submission_status,
        reason as rejection_reason,
        is_late as is_late_at_landing,
        n_files,
        status = 'accepted' as is_accepted,
        case
            when status = 'accepted'
                then row_number() over (
                        partition by unit_code, period, status = 'accepted'
                        order by version desc
                    ) = 1
            else false
        end as is_in_force
    from submissions

)

select * from ranked
