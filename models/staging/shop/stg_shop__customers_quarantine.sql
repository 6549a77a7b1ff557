{{ trainset.quarantine_rows(
    base_relation=ref('stg_shop__customers_classified'),
    source_table='customers',
    key_column='customer_id',
    raw_columns=[
        'customer_id',
        'email',
        'signup_at_raw',
        'updated_at_raw',
        'plan_raw',
        'segment_raw',
        'country_raw',
    ],
) }}
