with

base as (
    select * from {{ ref('base_shop__order_items') }}
),

orders as (
    select
        order_id,
        bool_or(quarantine_reason is null) as has_valid_version
    from {{ ref('stg_shop__orders_classified') }}
    where order_id is not null
    group by order_id
),

products as (
    select distinct product_id from {{ ref('base_shop__products') }}
    where product_id is not null
),

looked_up as (
    select
        base.order_item_id,
        base.order_id,
        base.product_id,
        base.quantity,
        base.unit_price_raw,
        base.unit_price,
        base.loaded_at,
        orders.order_id is not null as has_known_order,
        coalesce(orders.has_valid_version, false) as has_valid_order,
        products.product_id is not null as has_known_product,
        base.row_quarantine_reason as base_quarantine_reason
    from base
    left join orders
        on base.order_id = orders.order_id
    left join products
        on base.product_id = products.product_id
),

checked as (
    -- The references are checked last: a row keeps the base's first failed check, if any.
    select
        order_item_id,
        order_id,
        product_id,
        quantity,
        unit_price_raw,
        unit_price,
        loaded_at,
        has_known_order,
        has_valid_order,
        has_known_product,
        coalesce(
            base_quarantine_reason,
            case
                when not has_known_order then 'unknown_order'
                when not has_valid_order then 'quarantined_order'
                when not has_known_product then 'unknown_product'
            end
        ) as row_quarantine_reason
    from looked_up
),

{{ trainset.classify_duplicates(
    checked_relation='checked',
    key_columns=['order_item_id'],
    payload_columns=['order_id', 'product_id', 'quantity', 'unit_price_raw'],
) }}

select * from classified
