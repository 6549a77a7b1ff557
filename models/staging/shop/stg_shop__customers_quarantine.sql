{{ trainset.quarantine_rows(ref('base_shop__customers'), 'customers', 'customer_id', ['customer_id', 'email', 'signup_at_raw', 'updated_at_raw', 'plan', 'segment', 'country']) }}
