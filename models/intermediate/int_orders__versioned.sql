{{ config(unique_key='order_id') }}
{#
    Incremental by order_id (the key its windows are partitioned by): a batch recomputes every
    row of each order with a row loaded in the batch (see the changed_keys macro).
#}
-- depends_on: {{ ref('base_shop__orders') }}
with

orders as (
    select * from {{ ref('stg_shop__orders') }}
    {%- if is_incremental() %}
    where order_id in (
        {{ trainset.changed_keys(ref('base_shop__orders'), 'order_id') }}
    )
    {%- endif %}
),

versioned as (
    select
        order_id,
        customer_id,
        ordered_at,
        order_status,
        order_amount,
        loaded_at,
        -- bigint on every engine (Spark's row_number is an int)
        cast(row_number() over (partition by order_id order by loaded_at) as bigint) as order_version,
        lead(loaded_at) over (partition by order_id order by loaded_at) as superseded_at
    from orders
),

final as (
    select
        order_id,
        order_version,
        customer_id,
        ordered_at as effective_at,
        greatest(loaded_at, ordered_at) as known_at,
        superseded_at,
        order_status,
        order_amount,
        order_status = 'completed' as is_completed,
        superseded_at is null as is_latest_version
    from versioned
)

select * from final
