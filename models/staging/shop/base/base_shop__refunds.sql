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
        source.amount as refund_amount_raw,
        {{ trainset.to_money('source.amount') }} as refund_amount,
        {{ trainset.to_utc('source._loaded_at') }} as loaded_at,
        orders.order_id is not null as has_known_order,
        coalesce(orders.has_valid_version, false) as has_valid_order
    from source
    left join orders
        on source.order_id = orders.order_id
),

checked as (
    select
        *,
        case
            when refund_id is null then 'null_refund_id'
            when loaded_at is null then 'null_loaded_at'
            when order_id is null then 'null_order_id'
            when refunded_at_raw is null then 'null_timestamp'
            when refunded_at is null then 'unparseable_timestamp'
            when
                {{ trainset.is_implausible_timestamp('refunded_at') }}
                or {{ trainset.is_implausible_timestamp('loaded_at') }}
                then 'implausible_timestamp'
            when refunded_at > loaded_at + interval '1 hour' then 'future_timestamp'
            when refund_amount_raw is null then 'null_amount'
            when {{ trainset.is_non_finite('refund_amount_raw') }} then 'non_finite_number'
            when refund_amount_raw < 0 then 'negative_amount'
            when refund_amount is null or refund_amount > {{ var('max_order_amount') }}
                then 'absurd_amount'
            when not has_known_order then 'unknown_order'
            when not has_valid_order then 'quarantined_order'
        end as row_quarantine_reason
    from typed
),

{{ trainset.classify_duplicates(
    checked_relation='checked',
    key_columns=['refund_id'],
    payload_columns=['order_id', 'refunded_at_raw', 'refund_amount_raw'],
) }}

select * from classified
