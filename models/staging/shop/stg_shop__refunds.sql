with

classified as (
    select * from {{ ref('stg_shop__refunds_classified') }}
),

valid as (
    select
        refund_id,
        order_id,
        refunded_at,
        refund_amount,
        loaded_at
    from classified
    where
        quarantine_reason is null
        and duplicate_rank = 1
)

select * from valid
