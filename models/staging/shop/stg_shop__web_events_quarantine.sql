{{ trainset.quarantine_rows(
    base_relation=ref('stg_shop__web_events_classified'),
    source_table='web_events',
    key_column='event_id',
    raw_columns=[
        'event_id',
        'customer_id',
        'event_at_raw',
        'page_raw',
    ],
) }}
