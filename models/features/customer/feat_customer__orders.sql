{{ config(unique_key='order_id') }}
{#
    Incremental by order_id: a batch recomputes every row of each order with a row loaded
    in the batch (see the changed_keys macro).
#}
-- depends_on: {{ ref('base_shop__orders') }}
with

orders as (
    select * from {{ ref('int_orders__versioned') }}
    {%- if is_incremental() %}
    where order_id in (
        {{ trainset.changed_keys(ref('base_shop__orders'), 'order_id') }}
    )
    {%- endif %}
),

final as (
    select
        customer_id,
        order_id,
        order_version,
        effective_at,
        known_at,
        superseded_at,
        effective_at as ordered_at,
        order_status,
        is_completed,
        order_amount,
        case when is_completed then order_amount end as completed_amount,
        case when is_completed then order_id end as completed_order_id
    from orders
)

select * from final
