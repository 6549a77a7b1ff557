with

checked as (
    select * from {{ ref('base_shop__products') }}
),

valid as (
    select
        product_id,
        product_name,
        product_category,
        unit_price,
        updated_at,
        loaded_at
    from checked
    where
        quarantine_reason is null
        and duplicate_rank = 1
)

select * from valid
