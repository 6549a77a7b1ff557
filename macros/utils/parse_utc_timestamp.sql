{#
    Parse an ISO 8601 string into a UTC timestamp without time zone.

    Offsets are honoured ('…+02:00' becomes the same instant in UTC), strings without an offset
    are taken as UTC, and a string that cannot be parsed becomes null (staging sends those rows
    to quarantine). A plain cast to `timestamp` would silently drop the offset, so the string is
    read as `timestamptz` first and then converted.
#}
{% macro parse_utc_timestamp(column) -%}
    {{ return(adapter.dispatch('parse_utc_timestamp', 'trainset')(column)) }}
{%- endmacro %}

{% macro default__parse_utc_timestamp(column) -%}
    (cast({{ column }} as timestamp with time zone) at time zone 'UTC')
{%- endmacro %}

{% macro duckdb__parse_utc_timestamp(column) -%}
    timezone('UTC', try_cast({{ column }} as timestamptz))
{%- endmacro %}


{#
    Convert a timestamp with time zone (such as `_loaded_at`) to a UTC timestamp without zone.
#}
{% macro to_utc(column) -%}
    {{ return(adapter.dispatch('to_utc', 'trainset')(column)) }}
{%- endmacro %}

{% macro default__to_utc(column) -%}
    ({{ column }} at time zone 'UTC')
{%- endmacro %}

{% macro duckdb__to_utc(column) -%}
    timezone('UTC', {{ column }})
{%- endmacro %}
