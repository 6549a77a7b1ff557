with

classified as (
    select * from {{ ref('stg_shop__products_classified') }}
),

valid as (
    select
        product_id,
        product_name,
        product_category,
        unit_price,
        updated_at,
        loaded_at
    from classified
    where
        quarantine_reason is null
        and duplicate_rank = 1
)

select * from valid
