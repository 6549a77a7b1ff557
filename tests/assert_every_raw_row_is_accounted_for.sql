-- Every raw landing row is staged, collapsed as an exact duplicate, or quarantined: never
-- dropped silently. Returns the tables where the counts do not add up.
with

reconciliation as (
    {{ trainset.staging_reconciliation(var('shop_tables')) }}
)

select *
from reconciliation
where raw_rows <> staged_rows + duplicate_rows_collapsed + quarantined_rows
