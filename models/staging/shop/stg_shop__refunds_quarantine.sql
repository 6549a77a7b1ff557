{{ trainset.quarantine_rows(
    base_relation=ref('stg_shop__refunds_classified'),
    source_table='refunds',
    key_column='refund_id',
    raw_columns=[
        'refund_id',
        'order_id',
        'refunded_at_raw',
        'refund_amount_raw',
    ],
) }}
