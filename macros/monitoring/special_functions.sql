{#
    Special functions for the drift tests, as SQL expressions over a numeric column or
    expression. Plain arithmetic, `exp`, `power` and `sqrt` only, so they run on every engine,
    and flat sums (no deep nesting) so every SQL parser takes them.

    erfc(x) for x >= 0: below 4, 1 minus the Taylor series of erf (90 terms); from 4 up, the
    asymptotic series exp(-x^2) / (x sqrt(pi)) * sum (-1)^n (2n-1)!! / (2 x^2)^n (16 terms).
    Absolute error under 1e-10 everywhere (checked against scipy's erfc on a fine grid).
    `x` must be a plain column name: it is repeated in the expression. Powers and exponentials
    are kept inside the doubles' normal range (bases clamped where the term is below 1e-300),
    as PostgreSQL raises an error on underflow where DuckDB returns zero.
#}
{% macro drift_erfc(x) -%}
    case
        when {{ x }} < 4 then 1 - 2 / sqrt(pi()) * (
            {%- for term in range(90) %}
                {% if not loop.first %}+ {% endif %}{{ 1 if term is even else -1 }}
                * power(greatest({{ x }}, {{ trainset.erfc_term_floor(term) }}), {{ 2 * term + 1 }})
                / {{ '%.17g' | format(trainset.factorial(term) * (2 * term + 1)) }}
            {%- endfor %}
        )
        else exp(greatest(-{{ x }} * {{ x }}, -700)) / ({{ x }} * sqrt(pi())) * (
            {%- for term in range(16) %}
                {% if not loop.first %}+ {% endif %}{{ '%.17g' | format(trainset.asymptotic_erfc_coefficient(term)) }}
                * power(least({{ x }}, 1e{{ (300 // (2 * term)) if term else 300 }}), {{ -2 * term }})
            {%- endfor %}
        )
    end
{%- endmacro %}

{# The smallest base whose term x^(2n+1) / (n! (2n+1)) stays above 1e-300: below it the term
   is negligible, and clamping keeps the division clear of underflow. #}
{% macro erfc_term_floor(n) -%}
    {%- set divisor = trainset.factorial(n) * (2 * n + 1) -%}
    {%- set digits = (divisor | string) | length -%}
    {{- return('%.17g' | format(10.0 ** ((digits - 300.0) / (2 * n + 1)))) -}}
{%- endmacro %}

{% macro factorial(n) -%}
    {%- set product = namespace(value=1) -%}
    {%- for factor in range(1, n + 1) -%}
        {%- set product.value = product.value * factor -%}
    {%- endfor -%}
    {{- return(product.value) -}}
{%- endmacro %}

{# (-1)^n (2n-1)!! / 2^n, the n-th coefficient of the asymptotic series of erfc. #}
{% macro asymptotic_erfc_coefficient(n) -%}
    {%- set product = namespace(value=1.0) -%}
    {%- for k in range(1, n + 1) -%}
        {%- set product.value = product.value * -(2 * k - 1) / 2 -%}
    {%- endfor -%}
    {{- return(product.value) -}}
{%- endmacro %}

{# Base-2 logarithm of a positive number, as a double: DuckDB's log2; elsewhere the numeric
   two-argument log (exact to the last digit), so Sturges' bin count rounds the same way. #}
{% macro drift_log2(x) -%}
    {{ return(adapter.dispatch('drift_log2', 'trainset')(x)) }}
{%- endmacro %}

{% macro default__drift_log2(x) -%}
    cast(log(2.0, cast({{ x }} as numeric)) as {{ trainset.drift_double() }})
{%- endmacro %}

{% macro duckdb__drift_log2(x) -%}
    log2({{ x }})
{%- endmacro %}
