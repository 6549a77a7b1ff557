with

source as (
    select * from {{ source('shop', 'products') }}
),

typed as (
    select
        product_id,
        product_name,
        lower(trim(category)) as product_category,
        price as unit_price,
        updated_at as updated_at_raw,
        {{ trainset.parse_utc_timestamp('updated_at') }} as updated_at,
        {{ trainset.to_utc('_loaded_at') }} as loaded_at
    from source
),

flagged as (
    select
        *,
        row_number() over (
            partition by
                product_id, product_name, product_category, unit_price, updated_at_raw, loaded_at
            order by loaded_at
        ) as duplicate_rank,
        count(*) over (partition by product_id, updated_at_raw) > count(*) over (
            partition by
                product_id, product_name, product_category, unit_price, updated_at_raw, loaded_at
        ) as has_conflicting_duplicate
    from typed
),

checked as (
    select
        *,
        case
            when product_id is null then 'null_product_id'
            when has_conflicting_duplicate then 'conflicting_duplicate'
            when updated_at_raw is null then 'null_timestamp'
            when updated_at is null then 'unparseable_timestamp'
            when unit_price is null then 'null_amount'
            when unit_price < 0 then 'negative_amount'
        end as quarantine_reason
    from flagged
)

select * from checked
