-- A broken feed is not a few bad rows: fail when a raw table quarantines more than
-- var('quarantine_max_share') of its rows (and at least var('quarantine_min_rows') rows, so one
-- bad row in a tiny table does not stop training).
with

reconciliation as (
    {{ trainset.staging_reconciliation(
        ['customers', 'customer_changes', 'products', 'orders', 'order_items', 'web_events', 'refunds']
    ) }}
)

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
