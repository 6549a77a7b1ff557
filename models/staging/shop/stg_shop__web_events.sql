with

classified as (
    select * from {{ ref('stg_shop__web_events_classified') }}
),

valid as (
    select
        event_id,
        customer_id,
        event_at,
        page,
        loaded_at
    from classified
    where
        quarantine_reason is null
        and duplicate_rank = 1
)

select * from valid
