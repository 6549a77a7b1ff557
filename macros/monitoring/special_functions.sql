{#
    Special functions for the drift tests, as SQL expressions over a numeric column or
    expression. Plain arithmetic, `exp`, `ln` and `sqrt` only, so they run on every engine.

    erfc(x) for x >= 0: below 3, 1 minus the Taylor series of erf (60 terms; absolute error
    under 1e-13); from 3 up, the continued fraction of erfc evaluated bottom-up (80 levels).
    `x` must be a plain column name: it is repeated in the expression.
#}
{% macro drift_erfc(x) -%}
    {%- set fraction = namespace(expr='0') -%}
    {%- for level in range(80, 0, -1) -%}
        {%- set fraction.expr = '(' ~ (level / 2) ~ ' / (' ~ x ~ ' + ' ~ fraction.expr ~ '))' -%}
    {%- endfor -%}
    case
        when {{ x }} < 3 then 1 - 2 / sqrt(pi()) * (
            {%- for term in range(60) %}
                {% if not loop.first %}+ {% endif %}{{ 1 if term is even else -1 }} * power({{ x }}, {{ 2 * term + 1 }})
                / {{ '%.17g' | format(factorial(term) * (2 * term + 1)) }}
            {%- endfor %}
        )
        else exp(-{{ x }} * {{ x }}) / sqrt(pi()) / ({{ x }} + {{ fraction.expr }})
    end
{%- endmacro %}

{% macro factorial(n) -%}
    {%- set product = namespace(value=1) -%}
    {%- for factor in range(1, n + 1) -%}
        {%- set product.value = product.value * factor -%}
    {%- endfor -%}
    {{- return(product.value) -}}
{%- endmacro %}
