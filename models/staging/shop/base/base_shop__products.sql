with

source as (
    -- the landing files not staged yet on an increment (see macros/incremental/staging_batch.sql)
    select * from {{ trainset.landing_rows('products') }}
),

product_categories as (
    select * from {{ ref('product_categories') }}
),

typed as (
    select
        product_id,
        product_name,
        category as category_raw,
        lower(trim(category)) as product_category,
        price as unit_price_raw,
        {{ trainset.to_money('price') }} as unit_price,
        updated_at as updated_at_raw,
        {{ trainset.parse_utc_timestamp('updated_at') }} as updated_at,
        {{ trainset.to_utc('_loaded_at') }} as loaded_at,
        landing_file
    from source
),

checked as (
    select
        *,
        case
            when product_id is null then 'null_product_id'
            when loaded_at is null then 'null_loaded_at'
            when updated_at_raw is null then 'null_timestamp'
            when updated_at is null then 'unparseable_timestamp'
            when
                {{ trainset.is_implausible_timestamp('updated_at') }}
                or {{ trainset.is_implausible_timestamp('loaded_at') }}
                then 'implausible_timestamp'
            when unit_price_raw is null then 'null_amount'
            when {{ trainset.is_non_finite('unit_price_raw') }} then 'non_finite_number'
            when unit_price_raw < 0 then 'negative_amount'
            when unit_price is null or unit_price > {{ var('max_order_amount') }}
                then 'absurd_amount'
            when
                product_category is null
                or product_category not in (
                    select product_categories.product_category from product_categories
                )
                then 'unknown_category'
        end as row_quarantine_reason
    from typed
)

select * from checked
