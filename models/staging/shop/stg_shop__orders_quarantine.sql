{{ trainset.quarantine_rows(
    base_relation=ref('stg_shop__orders_classified'),
    source_table='orders',
    key_column='order_id',
    raw_columns=[
        'order_id',
        'customer_id',
        'ordered_at_raw',
        'order_status_raw',
        'order_amount_raw',
    ],
) }}
