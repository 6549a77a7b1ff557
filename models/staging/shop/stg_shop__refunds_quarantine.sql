{{ trainset.quarantine_rows(ref('base_shop__refunds'), 'refunds', 'refund_id', ['refund_id', 'order_id', 'refunded_at_raw', 'refund_amount']) }}
