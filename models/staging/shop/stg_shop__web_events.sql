with

checked as (
    select * from {{ ref('base_shop__web_events') }}
),

valid as (
    select
        event_id,
        customer_id,
        event_at,
        page,
        loaded_at
    from checked
    where
        quarantine_reason is null
        and duplicate_rank = 1
)

select * from valid
