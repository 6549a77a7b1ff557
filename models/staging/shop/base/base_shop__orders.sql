with

source as (
    select * from {{ source('shop', 'orders') }}
),

customers as (
    select distinct customer_id from {{ ref('base_shop__customers') }}
    where quarantine_reason is null
),

typed as (
    select
        source.order_id,
        source.customer_id,
        source.ordered_at as ordered_at_raw,
        {{ trainset.parse_utc_timestamp('source.ordered_at') }} as ordered_at,
        lower(trim(source.status)) as order_status,
        source.amount as order_amount,
        {{ trainset.to_utc('source._loaded_at') }} as loaded_at
    from source
),

flagged as (
    select
        typed.*,
        row_number() over (
            partition by
                typed.order_id, typed.customer_id, typed.ordered_at_raw,
                typed.order_status, typed.order_amount, typed.loaded_at
            order by typed.loaded_at
        ) as duplicate_rank,
        (
            count(*) over (partition by typed.order_id, typed.loaded_at) > 1
            and (
                min(typed.order_amount) over (partition by typed.order_id, typed.loaded_at)
                <> max(typed.order_amount) over (partition by typed.order_id, typed.loaded_at)
                or min(typed.order_status) over (partition by typed.order_id, typed.loaded_at)
                <> max(typed.order_status) over (partition by typed.order_id, typed.loaded_at)
                or min(typed.customer_id) over (partition by typed.order_id, typed.loaded_at)
                <> max(typed.customer_id) over (partition by typed.order_id, typed.loaded_at)
                or min(typed.ordered_at_raw) over (partition by typed.order_id, typed.loaded_at)
                <> max(typed.ordered_at_raw) over (partition by typed.order_id, typed.loaded_at)
            )
        ) as has_conflicting_duplicate,
        customers.customer_id is not null as has_known_customer
    from typed
    left join customers
        on typed.customer_id = customers.customer_id
),

checked as (
    select
        *,
        case
            when order_id is null then 'null_order_id'
            when has_conflicting_duplicate then 'conflicting_duplicate'
            when customer_id is null then 'null_customer_id'
            when ordered_at_raw is null then 'null_timestamp'
            when ordered_at is null then 'unparseable_timestamp'
            when ordered_at > loaded_at + interval '1 hour' then 'future_timestamp'
            when
                order_status not in ('placed', 'completed', 'cancelled', 'returned')
                or order_status is null then 'invalid_status'
            when order_amount is null then 'null_amount'
            when order_amount < 0 then 'negative_amount'
            when order_amount > {{ var('max_order_amount') }} then 'absurd_amount'
            when not has_known_customer then 'unknown_customer'
        end as quarantine_reason
    from flagged
)

select * from checked
