{#
    The rows of a checked staging base that failed validity: one shape for every source, so the
    quarantine summary can union them. Keeps the reason, the load time, the record's key as text
    and the raw values of the listed columns (as text, so every quarantine has the same columns).

    base_relation: the `base_<source>__<table>` model holding `quarantine_reason`.
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
        cast({{ key_column }} as varchar) as record_key,
        concat_ws(
            ', '
            {%- for column in raw_columns %},
            '{{ column }}=' || coalesce(cast({{ column }} as varchar), 'null')
            {%- endfor %}
        ) as raw_values
    from checked
    where quarantine_reason is not null
)

select * from quarantined
{%- endmacro %}
