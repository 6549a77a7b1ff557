{{ trainset.quarantine_rows(ref('base_shop__orders'), 'orders', 'order_id', ['order_id', 'customer_id', 'ordered_at_raw', 'order_status', 'order_amount']) }}
