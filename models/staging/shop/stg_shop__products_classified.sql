{{
    config(
        materialized='incremental' if target.type == 'duckdb' else 'table',
        incremental_strategy='delete+insert',
        unique_key='product_id',
        on_schema_change='fail',
    )
}}

with

base as {{ trainset.inline_cte() }} (
    select * from {{ ref('base_shop__products') }}
),

{%- if is_incremental() %}

    {{ trainset.new_landing_files('base') }},

    -- every row of a product with a row in a new file: a product's price rows are classified
    -- together (their key is the product and the time of the price)
    batch as (
        {{ trainset.staging_batch('base', 'product_id') }}
    ),
{%- endif %}

{{ trainset.classify_duplicates(
    checked_relation='batch' if is_incremental() else 'base',
    key_columns=['product_id', 'updated_at'],
    payload_columns=['product_name', 'category_raw', 'unit_price_raw'],
    tie_break_columns=['landing_file'],
) }}

select * from classified
