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
        source.unit_price as unit_price_raw,
        {{ trainset.to_money('source.unit_price') }} as unit_price,
        {{ trainset.to_utc('source._loaded_at') }} as loaded_at,
        orders.order_id is not null as has_known_order,
        coalesce(orders.has_valid_version, false) as has_valid_order,
        products.product_id is not null as has_known_product
    from source
    left join orders
        on source.order_id = orders.order_id
    left join products
        on source.product_id = products.product_id
),

checked as (
    select
        *,
        case
            when order_item_id is null then 'null_order_item_id'
            when loaded_at is null then 'null_loaded_at'
            when {{ trainset.is_implausible_timestamp('loaded_at') }} then 'implausible_timestamp'
            when order_id is null then 'null_order_id'
            when product_id is null then 'null_product_id'
            when quantity is null or unit_price_raw is null then 'null_amount'
            when {{ trainset.is_non_finite('unit_price_raw') }} then 'non_finite_number'
            when quantity <= 0 or unit_price_raw < 0 then 'negative_amount'
            when
                unit_price is null
                or quantity * unit_price > {{ var('max_order_amount') }}
                then 'absurd_amount'
            when not has_known_order then 'unknown_order'
            when not has_valid_order then 'quarantined_order'
            when not has_known_product then 'unknown_product'
        end as row_quarantine_reason
    from typed
),

{{ trainset.classify_duplicates(
    checked_relation='checked',
    key_columns=['order_item_id'],
    payload_columns=['order_id', 'product_id', 'quantity', 'unit_price_raw'],
) }}

select * from classified
