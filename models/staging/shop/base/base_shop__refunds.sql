with

source as (
    select * from {{ source('shop', 'refunds') }}
),

orders as (
    select
        order_id,
        bool_or(quarantine_reason is null) as has_valid_version
    from {{ ref('base_shop__orders') }}
    where order_id is not null
    group by order_id
),

typed as (
    select
        source.refund_id,
        source.order_id,
        source.refunded_at as refunded_at_raw,
        {{ trainset.parse_utc_timestamp('source.refunded_at') }} as refunded_at,
        source.amount as refund_amount,
        {{ trainset.to_utc('source._loaded_at') }} as loaded_at
    from source
),

flagged as (
    select
        typed.*,
        row_number() over (
            partition by
                typed.refund_id, typed.order_id, typed.refunded_at_raw, typed.refund_amount,
                typed.loaded_at
            order by typed.loaded_at
        ) as duplicate_rank,
        count(*) over (partition by typed.refund_id) > count(*) over (
            partition by
                typed.refund_id, typed.order_id, typed.refunded_at_raw, typed.refund_amount,
                typed.loaded_at
        ) as has_conflicting_duplicate,
        orders.order_id is not null as has_known_order,
        coalesce(orders.has_valid_version, false) as has_valid_order
    from typed
    left join orders
        on typed.order_id = orders.order_id
),

checked as (
    select
        *,
        case
            when refund_id is null then 'null_refund_id'
            when has_conflicting_duplicate then 'conflicting_duplicate'
            when order_id is null then 'null_order_id'
            when refunded_at_raw is null then 'null_timestamp'
            when refunded_at is null then 'unparseable_timestamp'
            when refunded_at > loaded_at + interval '1 hour' then 'future_timestamp'
            when refund_amount is null then 'null_amount'
            when refund_amount < 0 then 'negative_amount'
            when not has_known_order then 'unknown_order'
            when not has_valid_order then 'quarantined_order'
        end as quarantine_reason
    from flagged
)

select * from checked
