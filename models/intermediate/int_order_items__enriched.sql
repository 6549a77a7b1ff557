{{ config(unique_key='order_id') }}
{#
    Incremental by order_id: a batch recomputes every row of each order the
    order_item_batch_orders macro names (see the changed_keys macro).
#}
-- depends_on: {{ ref('base_shop__order_items') }}
-- depends_on: {{ ref('base_shop__orders') }}
-- depends_on: {{ ref('base_shop__products') }}
with

order_items as (
    select * from {{ ref('stg_shop__order_items') }}
    {%- if is_incremental() %}
    where order_id in (
        {{ trainset.order_item_batch_orders() }}
    )
    {%- endif %}
),

orders as (
    select * from {{ ref('int_orders__versioned') }}
),

first_versions as (
    select
        order_id,
        customer_id,
        effective_at as ordered_at,
        known_at as order_known_at
    from orders
    where order_version = 1
),

items_with_orders as (
    select
        order_items.order_item_id,
        order_items.order_id,
        first_versions.customer_id,
        order_items.product_id,
        order_items.quantity,
        order_items.unit_price,
        order_items.item_amount,
        first_versions.ordered_at,
        greatest(
            order_items.loaded_at, first_versions.order_known_at, first_versions.ordered_at
        ) as known_at
    from order_items
    inner join first_versions
        on order_items.order_id = first_versions.order_id
),

with_product as (
    {{ trainset.scd2_join(
        spine='items_with_orders',
        history=ref('int_products__history'),
        columns=['product_category', 'list_price'],
        entity_column='product_id',
        cutoff_column='ordered_at',
        valid_from_column='valid_from',
        valid_to_column='valid_to',
    ) }}
),

final as (
    select
        order_item_id,
        order_id,
        customer_id,
        product_id,
        product_category,
        quantity,
        unit_price,
        list_price,
        item_amount,
        ordered_at as effective_at,
        known_at
    from with_product
)

select * from final
