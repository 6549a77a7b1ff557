{#
    Duplicates and conflicts among the rows of a staging table that passed the row checks.

    Emits CTEs ending in `classified` (the implementations below name the others), reading
    `checked_relation`, which must have `loaded_at` and `row_quarantine_reason` (the first
    failed row check, null when the row passed). A row's payload is its business content:
    `payload_columns`, never the load time. A row that failed a row check takes no part: it is
    its own first copy (`duplicate_rank` 1, its own load time as first load), so its columns
    depend on no other row and a build that classifies only some keys gives it what a full
    build does. Rules, applied per key to the rows that passed the row checks:
    - the same payload arriving again (in the same load or a later one) is a duplicate: the
      first copy is staged with the earliest load time (`duplicate_rank` = 1, its `loaded_at`
      becomes `known_at`), later copies are collapsed (`duplicate_rank` > 1);
    - two or more different payloads first seen in the same load conflict: no earlier row
      tells which is right, so every copy of each is quarantined as `conflicting_duplicate`;
    - not versioned: a payload first seen after the key's first payload conflicts with it;
      the earlier-known row stays staged and the later one is quarantined;
    - versioned (orders): a payload first seen in a later load is a correction, staged as a
      new version. A payload seen before is a re-delivery and collapsed, so returning to an
      earlier payload is not a new version.
    `classified` adds `duplicate_rank`, `has_conflicting_duplicate` and `quarantine_reason`
    (the row check's reason, else `conflicting_duplicate`, else null).

    checked_relation: name of the CTE with the row checks.
    key_columns: the record's key (for products the key and the effective time).
    payload_columns: the raw business columns compared between copies.
    versioned: true when a later different payload is a new version, not a conflict.
    tie_break_columns: columns ranking copies loaded at the same time after `loaded_at` (the
      landing file, so the same copy is first however the files were batched).
#}
{% macro classify_duplicates(checked_relation, key_columns, payload_columns, versioned=false, tie_break_columns=[]) -%}
    {{ return(adapter.dispatch('classify_duplicates', 'trainset')(
        checked_relation, key_columns, payload_columns, versioned, tie_break_columns
    )) }}
{%- endmacro %}

{# Portable: every row that passed the row checks goes through the ranking windows. #}
{% macro default__classify_duplicates(
    checked_relation, key_columns, payload_columns, versioned=false, tie_break_columns=[]
) -%}
passed_rows as (
    select * from {{ checked_relation }}
    where row_quarantine_reason is null
),

{{ trainset._classify_duplicates_windows('passed_rows', key_columns, payload_columns, tie_break_columns) }},

all_rows_counted as (
    select * from duplicates_counted
    union all
    {{ trainset._classify_duplicates_failed_rows(checked_relation) }}
),

{{ trainset._classify_duplicates_final('all_rows_counted', versioned) }}
{%- endmacro %}


{# The rows of `checked_relation` that failed a row check, each its own first copy. #}
{% macro _classify_duplicates_failed_rows(checked_relation) -%}
    select
        *,
        cast(1 as bigint) as duplicate_rank,
        loaded_at as payload_first_loaded_at,
        cast(1 as bigint) as payloads_first_seen_together,
        loaded_at as key_first_loaded_at
    from {{ checked_relation }}
    where row_quarantine_reason is not null
{%- endmacro %}

{#
    DuckDB: a key with one row that passed the row checks (almost every key) is its own first
    copy, with no duplicate and no conflict, so its ranks are 1 and its load time is the first
    of its payload and of its key without sorting anything, as for a row that failed a check;
    only the rows of keys with several passed rows go through the ranking windows (four sorts
    of the whole table otherwise). Those keys are found by a grouped count of the key columns
    alone and joined back (a null key matches a null key, as in a window's partition), so no
    window holds every column of every row.

    `checked_relation` is read three times. Declare it, and every CTE it reads, with
    `{{ trainset.inline_cte() }}`: DuckDB then runs the cheap checks again for each read
    instead of writing every row of them to a temporary table and reading it back, which took
    longer than the checks (the page views of a million customers: 25 s instead of 42).

    Emits `shared_keys`, `single_rows` and `shared_rows` before the CTEs of
    `default__classify_duplicates`, with the same columns.
#}
{% macro duckdb__classify_duplicates(
    checked_relation, key_columns, payload_columns, versioned=false, tie_break_columns=[]
) -%}
{%- set same_key -%}
    {%- for column in key_columns %}
        {{ 'and ' if not loop.first }}checked_rows.{{ column }} is not distinct from shared_keys.{{ column }}
    {%- endfor %}
{%- endset -%}
shared_keys as (
    select
        {{ key_columns | join(', ') }},
        true as is_shared
    from {{ checked_relation }}
    where row_quarantine_reason is null
    group by {{ key_columns | join(', ') }}
    having count(*) > 1
),

single_rows as (
    select
        checked_rows.*,
        cast(1 as bigint) as duplicate_rank,
        checked_rows.loaded_at as payload_first_loaded_at,
        cast(1 as bigint) as payloads_first_seen_together,
        checked_rows.loaded_at as key_first_loaded_at
    from {{ checked_relation }} as checked_rows
    left join shared_keys
        on {{ same_key }}
    where shared_keys.is_shared is null or checked_rows.row_quarantine_reason is not null
),

shared_rows as (
    select checked_rows.*
    from {{ checked_relation }} as checked_rows
    inner join shared_keys
        on {{ same_key }}
    where checked_rows.row_quarantine_reason is null
),

{{ trainset._classify_duplicates_windows('shared_rows', key_columns, payload_columns, tie_break_columns) }},

all_rows_counted as (
    select * from duplicates_counted
    union all
    select * from single_rows
),

{{ trainset._classify_duplicates_final('all_rows_counted', versioned) }}
{%- endmacro %}


{# CTEs `duplicates_ranked`, `duplicates_counted`: the ranks of each row's payload under its
   key, read from `checked_relation`. #}
{% macro _classify_duplicates_windows(checked_relation, key_columns, payload_columns, tie_break_columns=[]) -%}
{%- set keys = key_columns | join(', ') -%}
{%- set payload = payload_columns | join(', ') -%}
duplicates_ranked as (
    select
        *,
        row_number() over (
            partition by row_quarantine_reason is null, {{ keys }}, {{ payload }}
            order by loaded_at{% for column in tie_break_columns %}, {{ column }}{% endfor %}
        ) as duplicate_rank,
        min(loaded_at) over (
            partition by row_quarantine_reason is null, {{ keys }}, {{ payload }}
        ) as payload_first_loaded_at
    from {{ checked_relation }}
),

duplicates_counted as (
    select
        *,
        -- distinct payloads first seen in this payload's first load (a portable
        -- count distinct over a window: ascending plus descending dense rank, minus one)
        dense_rank() over (
            partition by row_quarantine_reason is null, {{ keys }}, payload_first_loaded_at
            order by
                {%- for column in payload_columns %}
                {{ column }} asc nulls first{{ ',' if not loop.last }}
                {%- endfor %}
        )
        + dense_rank() over (
            partition by row_quarantine_reason is null, {{ keys }}, payload_first_loaded_at
            order by
                {%- for column in payload_columns %}
                {{ column }} desc nulls last{{ ',' if not loop.last }}
                {%- endfor %}
        )
        - 1 as payloads_first_seen_together,
        min(payload_first_loaded_at) over (
            partition by row_quarantine_reason is null, {{ keys }}
        ) as key_first_loaded_at
    from duplicates_ranked
)
{%- endmacro %}


{# CTE `classified`: the conflict flag and the quarantine reason of each row of
   `counted_relation`. #}
{% macro _classify_duplicates_final(counted_relation, versioned) -%}
classified as (
    select
        *,
        row_quarantine_reason is null
        and (
            payloads_first_seen_together > 1
            {%- if not versioned %}
            or payload_first_loaded_at > key_first_loaded_at
            {%- endif %}
        ) as has_conflicting_duplicate,
        coalesce(
            row_quarantine_reason,
            case
                when
                    payloads_first_seen_together > 1
                    {%- if not versioned %}
                    or payload_first_loaded_at > key_first_loaded_at
                    {%- endif %}
                    then 'conflicting_duplicate'
            end
        ) as quarantine_reason
    from {{ counted_relation }}
)
{%- endmacro %}


{#
    The rows of a classified staging table that failed validity: one shape for every source, so the
    quarantine summary can union them. Keeps the reason, the load time, the record's key as text
    and the raw values of the listed columns exactly as landed (as text, so every quarantine has
    the same columns).

    base_relation: the `stg_<source>__<table>_classified` model holding `quarantine_reason`.
    source_table: the raw table's name, stored in `source_table`.
    key_column: the record's key, stored as text in `record_key`.
    raw_columns: the raw columns to keep, packed into the `raw_values` text column.
#}
{% macro quarantine_rows(base_relation, source_table, key_column, raw_columns) -%}
with

checked as (
    select * from {{ base_relation }}
),

quarantined as (
    select
        '{{ source_table }}' as source_table,
        quarantine_reason,
        loaded_at,
        cast({{ key_column }} as {{ dbt.type_string() }}) as record_key,
        concat_ws(
            ', '
            {%- for column in raw_columns %},
            '{{ column }}=' || coalesce(cast({{ column }} as {{ dbt.type_string() }}), 'null')
            {%- endfor %}
        ) as raw_values
    from checked
    where quarantine_reason is not null
)

select * from quarantined
{%- endmacro %}
