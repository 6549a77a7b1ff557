{#
    Per raw table: rows in the landing files, rows staged, duplicates collapsed and rows
    quarantined. Every raw row must be in exactly one of the three (the reconciliation test).
#}
{% macro staging_reconciliation(tables) -%}
    {%- for table in tables %}
    select
        '{{ table }}' as source_table,
        (select count(*) from {{ source('shop', table) }}) as raw_rows,
        (select count(*) from {{ ref('stg_shop__' ~ table) }}) as staged_rows,
        (
            select count(*) from {{ ref('stg_shop__' ~ table ~ '_classified') }}
            where quarantine_reason is null and duplicate_rank > 1
        ) as duplicate_rows_collapsed,
        (select count(*) from {{ ref('stg_shop__' ~ table ~ '_quarantine') }}) as quarantined_rows
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
{%- endmacro %}
