{#- Generic test: every row satisfies `expression` (optionally only rows matching
    `where`). Fails with the offending rows. -#}
{% test expression_is_true(model, expression, column_name=none) %}
    select *
    from {{ model }}
    where not coalesce(({% if column_name %}{{ column_name }} {% endif %}{{ expression }}), false)
{% endtest %}
