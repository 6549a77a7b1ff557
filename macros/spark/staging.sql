{#
    Staging's parsing helpers on Spark (see macros/utils/): the same accepted shapes, results
    and nulls as on DuckDB, in Spark SQL.

    Spark keeps every `_at` column as its `timestamp` (microseconds, read and written in the
    session time zone, which the `spark` profile pins to UTC), so a timestamp is its UTC
    instant and needs no conversion. Spark has no infinite timestamps: `infinity` and
    `-infinity` become the largest and smallest timestamps Spark holds, which the
    plausible-range check quarantines as `implausible_timestamp`, as DuckDB does with its
    infinite ones. A zone name is accepted when Java knows it as a region (`ZoneId.of`);
    abbreviations such as `EST`, which DuckDB also reads, give null on Spark.
#}

{% macro spark__parse_utc_timestamp(column) -%}
    {%- set naive = '(\\d{4}-\\d{2}-\\d{2}(?:[T ]\\d{2}:\\d{2}(?::\\d{2}(?:\\.\\d{1,9})?)?)?)' -%}
    {%- set text = 'trim(' ~ column ~ ')' -%}
    {%- set local = "try_cast(replace(regexp_extract(" ~ text ~ ", r'^" ~ naive ~ "', 1), 'T', ' ') as timestamp)" -%}
    {%- set zone = "regexp_extract(" ~ text ~ ", r' +([A-Za-z][A-Za-z0-9_+/-]*)\\z', 1)" -%}
    (case
        when lower({{ text }}) in ('infinity', '+infinity')
            then cast('9999-12-31 23:59:59.999999' as timestamp)
        when lower({{ text }}) = '-infinity' then cast('0001-01-01 00:00:00' as timestamp)
        when {{ text }} rlike r'^{{ naive }}(?:Z|z)?\z' then {{ local }}
        when {{ text }} rlike r'^{{ naive }} ?[+-]\d{2}(?::?\d{2})?\z'
            then timestampadd(
                minute,
                -1
                * (case when regexp_extract({{ text }}, r'([+-])\d{2}(?::?\d{2})?\z', 1) = '-' then -1 else 1 end)
                * (
                    cast(regexp_extract({{ text }}, r'[+-](\d{2})(?::?\d{2})?\z', 1) as int) * 60
                    + coalesce(try_cast(regexp_extract({{ text }}, r'[+-]\d{2}:?(\d{2})\z', 1) as int), 0)
                ),
                {{ local }}
            )
        when
            {{ text }} rlike r'^{{ naive }} +[A-Za-z][A-Za-z0-9_+-]*(?:/[A-Za-z0-9_+-]+)*\z'
            and try_reflect('java.time.ZoneId', 'of', {{ zone }}) is not null
            then (case
                -- the local time exists and occurs once: converted back, the instant shows
                -- the same local time, and an hour either side of it does not
                when
                    from_utc_timestamp(to_utc_timestamp({{ local }}, {{ zone }}), {{ zone }}) = {{ local }}
                    and from_utc_timestamp(
                        timestampadd(hour, -1, to_utc_timestamp({{ local }}, {{ zone }})), {{ zone }}
                    ) <> {{ local }}
                    and from_utc_timestamp(
                        timestampadd(hour, 1, to_utc_timestamp({{ local }}, {{ zone }})), {{ zone }}
                    ) <> {{ local }}
                    then to_utc_timestamp({{ local }}, {{ zone }})
            end)
    end)
{%- endmacro %}


{# A Spark timestamp already is its UTC instant (the session time zone is UTC). #}
{% macro spark__to_utc(column) -%}
    {{ column }}
{%- endmacro %}


{#
    Money on Spark: the double's printed digits (Java's `Double.toString`, which may show a
    digit more than the shortest form for a few doubles) rounded to cents half away from zero.
#}
{% macro spark__to_money(column) -%}
    (case
        when not {{ trainset.is_non_finite(column) }} and abs({{ column }}) < 1e15
            then try_cast(cast({{ column }} as string) as decimal(18, 2))
    end)
{%- endmacro %}


{% macro spark__is_non_finite(column) -%}
    (isnan({{ column }}) or abs({{ column }}) = cast('Infinity' as double))
{%- endmacro %}


{#
    `timestamp_series` on Spark: `sequence` exploded in a lateral subquery. Spark's `sequence`
    refuses a start after the stop, so it runs to the later of the two and keeps the values up
    to the stop (none when the start is after it).
#}
{% macro spark__timestamp_series(start, stop, step, column) -%}
    lateral (
        select explode(filter(
            sequence({{ start }}, greatest({{ start }}, {{ stop }}), interval '{{ step }}'),
            series_value -> series_value <= {{ stop }}
        )) as {{ column }}
    ) as series
{%- endmacro %}


{# `seconds_between` on Spark: the difference of the two instants in microseconds, over 1e6. #}
{% macro spark__seconds_between(start, end) -%}
    cast((unix_micros({{ end }}) - unix_micros({{ start }})) / 1000000.0d as double)
{%- endmacro %}
