{#- num / den, rounded to one decimal, half away from zero, computed exactly on
    integers (HUGEINT) and returned as DECIMAL(38, 1). Empty when den is empty or 0.
    Inputs must be integers. 675 / 1200 * 100 = 56.25 -> 56.3. -#}
{% macro div_round_1(num, den) -%}
    case
        when ({{ den }}) is not null and ({{ den }}) != 0 and ({{ num }}) is not null
            then cast(
                sign(cast({{ num }} as hugeint)) * sign(cast({{ den }} as hugeint))
                * ((abs(cast({{ num }} as hugeint)) * 20 // abs(cast({{ den }} as hugeint)) + 1) // 2)
                as decimal(38, 0)
            ) * 0.1
    end
{%- endmacro %}
