with

checked as (
    select * from {{ ref('base_shop__refunds') }}
),

valid as (
    select
        refund_id,
        order_id,
        refunded_at,
        refund_amount,
        loaded_at
    from checked
    where
        quarantine_reason is null
        and duplicate_rank = 1
)

select * from valid
