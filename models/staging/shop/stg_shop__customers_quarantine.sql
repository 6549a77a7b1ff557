{{ trainset.quarantine_rows(
    base_relation=ref('base_shop__customers'),
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
