with

source as (
    select * from {{ source('shop', 'order_items') }}
),

orders as (
    select
        order_id,
        bool_or(quarantine_reason is null) as has_valid_version
    from {{ ref('base_shop__orders') }}
    where order_id is not null
    group by order_id
),

products as (
    select distinct product_id from {{ source('shop', 'products') }}
    where product_id is not null
),

typed as (
    select
        source.order_item_id,
        source.order_id,
        source.product_id,
        source.quantity,
        source.unit_price,
        {{ trainset.to_utc('source._loaded_at') }} as loaded_at
    from source
),

flagged as (
    select
        typed.*,
        row_number() over (
            partition by
                typed.order_item_id, typed.order_id, typed.product_id, typed.quantity,
                typed.unit_price, typed.loaded_at
            order by typed.loaded_at
        ) as duplicate_rank,
        count(*) over (partition by typed.order_item_id) > count(*) over (
            partition by
                typed.order_item_id, typed.order_id, typed.product_id, typed.quantity,
                typed.unit_price, typed.loaded_at
        ) as has_conflicting_duplicate,
        orders.order_id is not null as has_known_order,
        coalesce(orders.has_valid_version, false) as has_valid_order,
        products.product_id is not null as has_known_product
    from typed
    left join orders
        on typed.order_id = orders.order_id
    left join products
        on typed.product_id = products.product_id
),

checked as (
    select
        *,
        case
            when order_item_id is null then 'null_order_item_id'
            when has_conflicting_duplicate then 'conflicting_duplicate'
            when order_id is null then 'null_order_id'
            when product_id is null then 'null_product_id'
            when quantity is null or unit_price is null then 'null_amount'
            when quantity <= 0 or unit_price < 0 then 'negative_amount'
            when not has_known_order then 'unknown_order'
            when not has_valid_order then 'quarantined_order'
            when not has_known_product then 'unknown_product'
        end as quarantine_reason
    from flagged
)

select * from checked
