{{ trainset.quarantine_rows(ref('base_shop__customer_changes'), 'customer_changes', 'change_id', ['change_id', 'customer_id', 'plan', 'segment', 'country', 'changed_at_raw']) }}
