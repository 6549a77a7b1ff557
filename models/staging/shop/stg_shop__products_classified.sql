with

base as (
    select * from {{ ref('base_shop__products') }}
),

{{ trainset.classify_duplicates(
    checked_relation='base',
    key_columns=['product_id', 'updated_at'],
    payload_columns=['product_name', 'category_raw', 'unit_price_raw'],
) }}

select * from classified
