{{ trainset.quarantine_rows(
    base_relation=ref('base_shop__refunds'),
    source_table='refunds',
    key_column='refund_id',
    raw_columns=[
        'refund_id',
        'order_id',
        'refunded_at_raw',
        'refund_amount_raw',
    ],
) }}
