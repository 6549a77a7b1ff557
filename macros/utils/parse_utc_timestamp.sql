{#
    Parse an ISO 8601 string into a UTC timestamp without time zone, one string at a time and
    without any session time zone involved.

    Accepted shapes (after trimming; date and time separated by 'T' or a space; seconds and a
    fraction optional):
    - naive `2025-03-01 10:00:00`: taken as UTC, read as a plain `timestamp`;
    - `…Z`: UTC;
    - an offset `…+02:00`, `…-0530`, `…+02`: the offset is subtracted arithmetically;
    - a named zone `2025-03-01 10:00:00 Europe/Berlin`: the zone name is split off and the
      local time converted with `timezone(zone, local)`; a name the engine does not know, or a
      local time the zone's clocks skip or repeat (daylight-saving changes: which instant was
      meant cannot be known), gives null;
    - `infinity`, `+infinity`, `-infinity`: the infinite timestamps, so the plausible-range
      check quarantines them as `implausible_timestamp` instead of letting them reach a model.
    Anything else is null, which staging quarantines as `unparseable_timestamp`.

    Strings are never cast to `timestamptz`: DuckDB's timestamptz parser remembers a named
    zone it met earlier in a batch and reads later naive strings in it, and a plain cast to
    `timestamp` would drop an offset silently. The portable `default__` reads the string as a
    timestamptz and converts it to UTC (the engine's own parser).
#}

{% macro parse_utc_timestamp(column) -%}
    {{ return(adapter.dispatch('parse_utc_timestamp', 'trainset')(column)) }}
{%- endmacro %}

{% macro default__parse_utc_timestamp(column) -%}
    (cast({{ column }} as timestamp with time zone) at time zone 'UTC')
{%- endmacro %}

{% macro duckdb__parse_utc_timestamp(column) -%}
    {%- set naive = '(\\d{4}-\\d{2}-\\d{2}(?:[T ]\\d{2}:\\d{2}(?::\\d{2}(?:\\.\\d{1,9})?)?)?)' -%}
    {%- set text = 'trim(' ~ column ~ ')' -%}
    {%- set local = "try_cast(replace(regexp_extract(" ~ text ~ ", '^" ~ naive ~ "', 1), 'T', ' ') as timestamp)" -%}
    {%- set zone = "regexp_extract(" ~ text ~ ", ' +([A-Za-z][A-Za-z0-9_+/-]*)$', 1)" -%}
    (case
        {#- the shapes almost every row has (seconds, then nothing, `Z` or `±hh:mm`, with no
            space around) read by position from the string as landed: the same values as the
            general branches below, one pattern match per row instead of six, and no trimmed
            copy of the string (the cast reads the `T` separator itself) #}
        when regexp_full_match({{ column }}, '\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:[Zz]|[+-]\d{2}:\d{2})?')
            then try_cast(substr({{ column }}, 1, 19) as timestamp) - to_minutes(
                case
                    when length({{ column }}) = 25
                        then (case when substr({{ column }}, 20, 1) = '-' then -1 else 1 end)
                        * (
                            cast(substr({{ column }}, 21, 2) as integer) * 60
                            + cast(substr({{ column }}, 24, 2) as integer)
                        )
                    else 0
                end
            )
        when lower({{ text }}) in ('infinity', '+infinity') then cast('infinity' as timestamp)
        when lower({{ text }}) = '-infinity' then cast('-infinity' as timestamp)
        when regexp_full_match({{ text }}, '{{ naive }}(?:Z|z)?') then {{ local }}
        when regexp_full_match({{ text }}, '{{ naive }} ?[+-]\d{2}(?::?\d{2})?')
            then {{ local }} - to_minutes(
                (case when regexp_extract({{ text }}, '([+-])\d{2}(?::?\d{2})?$', 1) = '-' then -1 else 1 end)
                * (
                    cast(regexp_extract({{ text }}, '[+-](\d{2})(?::?\d{2})?$', 1) as integer) * 60
                    + coalesce(try_cast(regexp_extract({{ text }}, '[+-]\d{2}:?(\d{2})$', 1) as integer), 0)
                )
            )
        when
            regexp_full_match({{ text }}, '{{ naive }} +[A-Za-z][A-Za-z0-9_+-]*(?:/[A-Za-z0-9_+-]+)*')
            {#- the zone names as one list, looked up only in this branch: an `in (select …)`
                would be a join that extracts a zone from every row's string #}
            and list_contains(
                (select list(time_zones.name) from pg_timezone_names() as time_zones),
                regexp_extract({{ text }}, ' +([A-Za-z][A-Za-z0-9_+/-]*)$', 1)
            )
            then (case
                -- the local time exists (not skipped by a clock change) and occurs once (not
                -- repeated when clocks go back): converted back, the instant shows the same
                -- local time, and an hour either side of it does not
                when
                    timezone({{ zone }}, timezone({{ zone }}, {{ local }})) = {{ local }}
                    and timezone({{ zone }}, timezone({{ zone }}, {{ local }}) - interval '1 hour')
                    <> {{ local }}
                    and timezone({{ zone }}, timezone({{ zone }}, {{ local }}) + interval '1 hour')
                    <> {{ local }}
                    then timezone('UTC', timezone({{ zone }}, {{ local }}))
            end)
    end)
{%- endmacro %}


{#
    True when a parsed UTC timestamp lies outside `var('plausible_timestamp_range')` (an
    infinite timestamp included). Staging quarantines such rows as `implausible_timestamp`: a
    year-1900 order would otherwise move the first training cutoff years back.
#}
{% macro is_implausible_timestamp(column) -%}
    {%- set bounds = var('plausible_timestamp_range') -%}
    ({{ column }} < cast('{{ bounds["earliest"] }}' as timestamp)
        or {{ column }} > cast('{{ bounds["latest"] }}' as timestamp))
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

{#- The instant's epoch microseconds made a timestamp directly: `timezone('UTC', …)` goes
    through the zone's calendar for every row (4.8 s against 0.5 s over the load times of the
    page views of a million customers). An infinite time has no epoch and takes that path;
    a naive input gives a timestamp with time zone either way. #}
{% macro duckdb__to_utc(column) -%}
    coalesce(make_timestamp(epoch_us({{ column }})), timezone('UTC', {{ column }}))
{%- endmacro %}
