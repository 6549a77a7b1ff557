with

source as (
    -- the landing files not staged yet on an increment (see macros/incremental/staging_batch.sql)
    select * from {{ trainset.landing_rows('order_items') }}
),

typed as (
    select
        order_item_id,
        order_id,
        product_id,
        quantity,
        unit_price as unit_price_raw,
        {{ trainset.to_money('unit_price') }} as unit_price,
        {{ trainset.to_utc('_loaded_at') }} as loaded_at,
        landing_file
    from source
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
        end as row_quarantine_reason
    from typed
)

select * from checked
