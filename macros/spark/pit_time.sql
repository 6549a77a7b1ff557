{#
    `cutoff - shift` on Spark. Spark refuses an interval literal that mixes year-month and
    day-time units ('1 month 1 days'), so the shift is applied in SQL's order, one unit at a
    time with `timestampadd`: months first (clamped to the month's end, as every engine does),
    then days (calendar days of the session time zone, UTC), then microseconds. Spark
    timestamps are microseconds, so the bound and `pit_compare`'s plain comparison are exact.
#}
{% macro spark__pit_bound(cutoff, shift, name) -%}
    {%- if shift -%}
        {%- set expression = cutoff -%}
        {%- if shift.months -%}
            {%- set expression = 'timestampadd(month, -' ~ shift.months ~ ', ' ~ expression ~ ')' -%}
        {%- endif -%}
        {%- if shift.days -%}
            {%- set expression = 'timestampadd(day, -' ~ shift.days ~ ', ' ~ expression ~ ')' -%}
        {%- endif -%}
        {%- if shift.micros -%}
            {%- set expression = 'timestampadd(microsecond, -' ~ shift.micros ~ ', ' ~ expression ~ ')' -%}
        {%- endif -%}
        {{ expression }} as {{ name }}_at
    {%- else -%}
        {{ cutoff }} as {{ name }}_at
    {%- endif -%}
{%- endmacro %}
