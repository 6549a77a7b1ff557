with

classified as (
    select * from {{ ref('stg_shop__orders_classified') }}
),

valid as (
    select
        order_id,
        customer_id,
        ordered_at,
        order_status,
        order_amount,
        loaded_at
    from classified
    where
        quarantine_reason is null
        and duplicate_rank = 1
)

select * from valid
