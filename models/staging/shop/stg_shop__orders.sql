with

checked as (
    select * from {{ ref('base_shop__orders') }}
),

valid as (
    select
        order_id,
        customer_id,
        ordered_at,
        order_status,
        order_amount,
        loaded_at
    from checked
    where
        quarantine_reason is null
        and duplicate_rank = 1
)

select * from valid
