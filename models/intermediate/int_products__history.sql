{{ config(unique_key='product_id') }}
{#
    Incremental by product_id (the key its windows are partitioned by): a batch recomputes every
    row of each product with a price row loaded in the batch (see the changed_keys macro).
#}
-- depends_on: {{ ref('base_shop__products') }}
with

products as (
    select * from {{ ref('stg_shop__products') }}
    {%- if is_incremental() %}
    where product_id in (
        {{ trainset.changed_keys(ref('base_shop__products'), 'product_id') }}
    )
    {%- endif %}
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
