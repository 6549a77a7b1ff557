with

base as (
    select * from {{ ref('base_shop__refunds') }}
),

orders as (
    select
        order_id,
        bool_or(quarantine_reason is null) as has_valid_version
    from {{ ref('stg_shop__orders_classified') }}
    where order_id is not null
    group by order_id
),

looked_up as (
    select
        base.refund_id,
        base.order_id,
        base.refunded_at_raw,
        base.refunded_at,
        base.refund_amount_raw,
        base.refund_amount,
        base.loaded_at,
        orders.order_id is not null as has_known_order,
        coalesce(orders.has_valid_version, false) as has_valid_order,
        base.row_quarantine_reason as base_quarantine_reason
    from base
    left join orders
        on base.order_id = orders.order_id
),

checked as (
    -- The references are checked last: a row keeps the base's first failed check, if any.
    select
        refund_id,
        order_id,
        refunded_at_raw,
        refunded_at,
        refund_amount_raw,
        refund_amount,
        loaded_at,
        has_known_order,
        has_valid_order,
        coalesce(
            base_quarantine_reason,
            case
                when not has_known_order then 'unknown_order'
                when not has_valid_order then 'quarantined_order'
            end
        ) as row_quarantine_reason
    from looked_up
),

{{ trainset.classify_duplicates(
    checked_relation='checked',
    key_columns=['refund_id'],
    payload_columns=['order_id', 'refunded_at_raw', 'refund_amount_raw'],
) }}

select * from classified
