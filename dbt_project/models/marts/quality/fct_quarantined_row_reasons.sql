-- Grain: one row per quarantined row x reason: where the row is in the sender's
-- own file (file name, 1-based data record number) and which rule it broke.
-- What each unit's feedback sheet lists (dolisa.feedback). The quarantined
-- record itself (raw cells, personal data) is never read here.
with

quarantined_rows as (

    select * from {{ ref('stg_district_export__quarantined_rows') }}

),

reasons as (

    select
        submission_id,
        unit_code,
        period,
        version,
        dataset,
        file_name,
        source_row,
        trim(unnest(string_split(reasons, '; '))) as reason
    from quarantined_rows

),

final as (

    select distinct
        submission_id,
        unit_code,
        period,
        version,
        dataset,
        file_name,
        source_row,
        reason
    from reasons
    where reason != ''

)

select * from final
