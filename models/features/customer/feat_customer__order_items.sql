with

order_items as (
    select * from {{ ref('int_order_items__enriched') }}
),

final as (
    select
        customer_id,
        order_item_id,
        effective_at,
        known_at,
        product_category,
        item_amount
    from order_items
)

select * from final
