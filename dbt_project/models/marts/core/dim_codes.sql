-- Grain: one row per code of a code list of the contract (datasets.yaml), with
-- Vietnamese and English labels, plus the age bands of the breakdown marts
-- (dataset '*', column age_band). dataset '*' = shared by every dataset (sex,
-- age band). is_sensitive / sensitive_reason: THE list of the codes whose small
-- breakdown cells are protected outside the restricted zone (seed code_labels).
with

code_labels as (

    select * from {{ ref('code_labels') }}

),

age_bands as (

    select * from {{ ref('age_bands') }}

),

codes as (

    select
        dataset,
        column_name,
        code,
        sort_order,
        label_vi,
        label_en,
        is_sensitive,
        nullif(sensitive_reason, '') as sensitive_reason
    from code_labels

    union all

    select
        '*' as dataset,
        'age_band' as column_name,
        code,
        sort_order,
        label_vi,
        label_en,
        false as is_sensitive,
        cast(null as varchar) as sensitive_reason
    from age_bands

),

final as (

    select
        dataset || '.' || column_name || '.' || code as code_id,
        dataset,
        column_name,
        code,
        sort_order,
        label_vi,
        label_en,
        is_sensitive,
        sensitive_reason
    from codes

)

select * from final
