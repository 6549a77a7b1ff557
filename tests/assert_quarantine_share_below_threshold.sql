-- A broken feed is not a few bad rows: fail when a raw table quarantines more than
-- var('quarantine_max_share') of its rows (and at least var('quarantine_min_rows') rows, so one
-- bad row in a tiny table does not stop training). One failing row per reason of such a table,
-- naming the table, the reason, that reason's rows and share, and the table's total share.
{%- set tables = var('shop_tables') %}

with

reconciliation as (
    {{ trainset.staging_reconciliation(tables) }}
),

quarantined as (
    {%- for table in tables %}
        select
            source_table,
            quarantine_reason
        from {{ ref('stg_shop__' ~ table ~ '_quarantine') }}
        {%- if not loop.last %}
            union all
        {%- endif %}
    {%- endfor %}
),

by_reason as (
    select
        source_table,
        quarantine_reason,
        count(*) as reason_rows
    from quarantined
    group by source_table, quarantine_reason
),

over_threshold as (
    select
        source_table,
        raw_rows,
        quarantined_rows,
        1.0 * quarantined_rows / raw_rows as quarantined_share
    from reconciliation
    where
        raw_rows > 0
        and quarantined_rows >= {{ var('quarantine_min_rows') }}
        and 1.0 * quarantined_rows / raw_rows > {{ var('quarantine_max_share') }}
),

failures as (
    select
        over_threshold.source_table,
        by_reason.quarantine_reason,
        by_reason.reason_rows,
        1.0 * by_reason.reason_rows / over_threshold.raw_rows as reason_share,
        over_threshold.raw_rows,
        over_threshold.quarantined_rows,
        over_threshold.quarantined_share,
        {{ var('quarantine_max_share') }} as max_share
    from over_threshold
    inner join by_reason
        on over_threshold.source_table = by_reason.source_table
)

select * from failures
