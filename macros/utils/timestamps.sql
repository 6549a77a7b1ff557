{#
    timestamp_series: a relation named `series` with one column, `column`, holding `start`,
    `start + step`, `start + 2 step`, ... up to and including `stop` (nothing when `start` is
    after `stop`). Used in a `from` or `cross join` clause; `start` and `stop` may name columns
    of the relations joined before it.

    start, stop: timestamp expressions. step: an interval text such as '1 month'.
    column: the name of the series column.
#}
{% macro timestamp_series(start, stop, step, column) -%}
    {{ return(adapter.dispatch('timestamp_series', 'trainset')(start, stop, step, column)) }}
{%- endmacro %}

{% macro default__timestamp_series(start, stop, step, column) -%}
    generate_series(
        {{ start }},
        {{ stop }},
        interval '{{ step }}'
    ) as series ({{ column }})
{%- endmacro %}


{#
    seconds_between: the seconds from timestamp `start` to timestamp `end`, as a double
    (microseconds divided by a million).
#}
{% macro seconds_between(start, end) -%}
    {{ return(adapter.dispatch('seconds_between', 'trainset')(start, end)) }}
{%- endmacro %}

{% macro default__seconds_between(start, end) -%}
    cast(extract(epoch from {{ end }} - {{ start }}) as double precision)
{%- endmacro %}
