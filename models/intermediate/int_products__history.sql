with

products as (
    select * from {{ ref('stg_shop__products') }}
),

history as (
    select
        product_id,
        product_name,
        product_category,
        unit_price as list_price,
        updated_at as valid_from,
        lead(updated_at) over (partition by product_id order by updated_at) as valid_to,
        greatest(loaded_at, updated_at) as known_at
    from products
)

select * from history
