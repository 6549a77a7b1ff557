{#
    Money becomes `decimal(18, 2)` here, once, in staging; every later model reads the decimal.

    The rounding rule: the amount's shortest decimal representation (the digits a person sees
    for the double in the file, `2.675` for the double nearest 2.675) is rounded to cents half
    away from zero (`2.675` → 2.68, `-0.125` → -0.13, `1.005` → 1.01). Casting the double
    directly would round its binary value instead, which lies just below or above the printed
    digits and rounds `1.005` to 1.00 but `2.675` to 2.68. Non-finite numbers and amounts that
    do not fit `decimal(18, 2)` become null; staging quarantines them first
    (`non_finite_number`, `absurd_amount`).
#}
{% macro to_money(column) -%}
    {{ return(adapter.dispatch('to_money', 'trainset')(column)) }}
{%- endmacro %}

{% macro default__to_money(column) -%}
    (case
        when not {{ trainset.is_non_finite(column) }} and abs({{ column }}) < 1e15
            then cast(cast({{ column }} as {{ dbt.type_string() }}) as decimal(18, 2))
    end)
{%- endmacro %}

{% macro duckdb__to_money(column) -%}
    (case
        when isfinite({{ column }})
            then try_cast(cast({{ column }} as varchar) as decimal(18, 2))
    end)
{%- endmacro %}


{#
    True when a floating-point column holds NaN, Infinity or -Infinity (null stays null).
#}
{% macro is_non_finite(column) -%}
    {{ return(adapter.dispatch('is_non_finite', 'trainset')(column)) }}
{%- endmacro %}

{% macro default__is_non_finite(column) -%}
    ({{ column }} in (cast('NaN' as double precision), cast('Infinity' as double precision),
        cast('-Infinity' as double precision)))
{%- endmacro %}

{% macro duckdb__is_non_finite(column) -%}
    (not isfinite({{ column }}))
{%- endmacro %}
