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

{#- An indicator's value as an exact fraction value_num / value_den (rpt_indicators, and the
    re-issue's scenario values): a ratio is numerator x 100 / denominator (empty when the
    denominator is 0), any other kind the numerator itself. -#}
{% macro indicator_value_num(kind, numerator) -%}
    case
        when {{ kind }} = 'ratio' then cast({{ numerator }} as hugeint) * 100
        else cast({{ numerator }} as hugeint)
    end
{%- endmacro %}

{% macro indicator_value_den(kind, denominator) -%}
    case
        when {{ kind }} = 'ratio' then nullif(cast({{ denominator }} as hugeint), 0)
        else cast(1 as hugeint)
    end
{%- endmacro %}
