{{ trainset.quarantine_rows(
    base_relation=ref('stg_shop__products_classified'),
    source_table='products',
    key_column='product_id',
    raw_columns=[
        'product_id',
        'product_name',
        'category_raw',
        'unit_price_raw',
        'updated_at_raw',
    ],
) }}
