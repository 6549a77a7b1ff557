with

orders as (
    select * from {{ ref('int_orders__versioned') }}
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
