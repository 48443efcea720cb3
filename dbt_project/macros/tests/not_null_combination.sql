{#- Generic test: none of the listed columns is null. -#}
{% test not_null_columns(model, column_names) %}
    select *
    from {{ model }}
    where {% for c in column_names %}{{ c }} is null{% if not loop.last %} or {% endif %}{% endfor %}
{% endtest %}
