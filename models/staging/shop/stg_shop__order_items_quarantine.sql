{{ trainset.quarantine_rows(
    base_relation=ref('stg_shop__order_items_classified'),
    source_table='order_items',
    key_column='order_item_id',
    raw_columns=[
        'order_item_id',
        'order_id',
        'product_id',
        'quantity',
        'unit_price_raw',
    ],
) }}
