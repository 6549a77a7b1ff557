{{ trainset.quarantine_rows(
    base_relation=ref('stg_shop__customer_changes_classified'),
    source_table='customer_changes',
    key_column='change_id',
    raw_columns=[
        'change_id',
        'customer_id',
        'plan_raw',
        'segment_raw',
        'country_raw',
        'changed_at_raw',
    ],
) }}
