{{
    config(
        materialized='incremental' if target.type == 'duckdb' else 'table',
        incremental_strategy='delete+insert',
        unique_key='order_item_id',
        on_schema_change='fail',
    )
}}

with

base as {{ trainset.inline_cte() }} (
    select * from {{ ref('base_shop__order_items') }}
),

orders as {{ trainset.inline_cte() }} (
    select
        order_id,
        bool_or(quarantine_reason is null) as has_valid_version
    from {{ ref('stg_shop__orders_classified') }}
    where order_id is not null
    group by order_id
),

products as {{ trainset.inline_cte() }} (
    select distinct product_id from {{ ref('base_shop__products') }}
    where product_id is not null
),

{%- if is_incremental() %}

    {{ trainset.new_landing_files('base') }},

    changed_references as (
        -- keys whose order or product checks now give another answer
        select staged.order_item_id
        from {{ this }} as staged
        left join orders
            on staged.order_id = orders.order_id
        left join products
            on staged.product_id = products.product_id
        where
            staged.has_known_order <> (orders.order_id is not null)
            or staged.has_valid_order <> coalesce(orders.has_valid_version, false)
            or staged.has_known_product <> (products.product_id is not null)
    ),

    batch as (
        {{ trainset.staging_batch('base', 'order_item_id', 'changed_references') }}
    ),
{%- endif %}

looked_up as {{ trainset.inline_cte() }} (
    select
        base.order_item_id,
        base.order_id,
        base.product_id,
        base.quantity,
        base.unit_price_raw,
        base.unit_price,
        base.loaded_at,
        base.landing_file,
        orders.order_id is not null as has_known_order,
        coalesce(orders.has_valid_version, false) as has_valid_order,
        products.product_id is not null as has_known_product,
        base.row_quarantine_reason as base_quarantine_reason
    from {% if is_incremental() %}batch{% else %}base{% endif %} as base
    left join orders
        on base.order_id = orders.order_id
    left join products
        on base.product_id = products.product_id
),

checked as {{ trainset.inline_cte() }} (
    -- The references are checked last: a row keeps the base's first failed check, if any.
    select
        order_item_id,
        order_id,
        product_id,
        quantity,
        unit_price_raw,
        unit_price,
        loaded_at,
        landing_file,
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
    tie_break_columns=['landing_file'],
) }}

select * from classified
