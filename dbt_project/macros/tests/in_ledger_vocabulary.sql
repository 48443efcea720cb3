{#- Generic test: every non-null value of the column is a `subject` value of the ledger's
    vocabulary (meta.ledger_vocabulary, written by the warehouse from
    src/dolisa/contract/ledger.yaml). The statuses are never listed in dbt: a new status
    declared in ledger.yaml is known here at once, so the loader and this test cannot
    disagree (a value outside the vocabulary means the pipeline itself broke). -#}
{% test in_ledger_vocabulary(model, column_name, subject) %}
    select {{ column_name }} as value_outside_vocabulary
    from {{ model }}
    where
        {{ column_name }} is not null
        and {{ column_name }} not in (
            select vocabulary.value
            from {{ source('district_export_ledger', 'ledger_vocabulary') }} as vocabulary
            where vocabulary.subject = '{{ subject }}'
        )
{% endtest %}
