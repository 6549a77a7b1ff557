{{ config(unique_key='order_item_id') }}
{#
    Incremental: a batch recomputes every line of each order the order_item_batch_orders
    macro names (see the changed_keys macro) and replaces those lines by order_item_id (the
    feature has no order_id column).
#}
-- depends_on: {{ ref('base_shop__order_items') }}
-- depends_on: {{ ref('base_shop__orders') }}
-- depends_on: {{ ref('base_shop__products') }}
-- depends_on: {{ ref('stg_shop__order_items') }}
with

order_items as (
    select * from {{ ref('int_order_items__enriched') }}
    {%- if is_incremental() %}
    where order_id in (
        {{ trainset.order_item_batch_orders() }}
    )
    {%- endif %}
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
