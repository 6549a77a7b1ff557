with

classified as (
    select * from {{ ref('stg_shop__order_items_classified') }}
),

valid as (
    select
        order_item_id,
        order_id,
        product_id,
        quantity,
        unit_price,
        cast(quantity * unit_price as decimal(18, 2)) as item_amount,
        loaded_at
    from classified
    where
        quarantine_reason is null
        and duplicate_rank = 1
)

select * from valid
