-- Grain: one row per code of a code list of the contract (datasets.yaml), with
-- Vietnamese and English labels. dataset '*' = shared by every dataset (sex).
with

code_labels as (

    select * from {{ ref('code_labels') }}

),

final as (

    select
        dataset || '.' || column_name || '.' || code as code_id,
        dataset,
        column_name,
        code,
        sort_order,
        label_vi,
        label_en
    from code_labels

)

select * from final
