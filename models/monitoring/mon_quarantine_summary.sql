{%- set tables = var('shop_tables') -%}

with

quarantined as (
    {%- for table in tables %}
        select
            source_table,
            quarantine_reason,
            loaded_at
        from {{ ref('stg_shop__' ~ table ~ '_quarantine') }}
        {%- if not loop.last %}
            union all
        {%- endif %}
    {%- endfor %}
),

summary as (
    select
        source_table,
        quarantine_reason,
        cast(loaded_at as date) as load_date,
        count(*) as quarantined_rows
    from quarantined
    group by source_table, quarantine_reason, cast(loaded_at as date)
)

select * from summary
