{{ trainset.quarantine_rows(ref('base_shop__web_events'), 'web_events', 'event_id', ['event_id', 'customer_id', 'event_at_raw', 'page']) }}
