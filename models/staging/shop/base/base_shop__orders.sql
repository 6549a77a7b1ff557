with

source as (
    -- the landing files not staged yet on an increment (see macros/incremental/staging_batch.sql)
    select * from {{ trainset.landing_rows('orders') }}
),

order_statuses as (
    select * from {{ ref('order_statuses') }}
),

typed as (
    select
        order_id,
        customer_id,
        ordered_at as ordered_at_raw,
        {{ trainset.parse_utc_timestamp('ordered_at') }} as ordered_at,
        status as order_status_raw,
        lower(trim(status)) as order_status,
        amount as order_amount_raw,
        {{ trainset.to_money('amount') }} as order_amount,
        {{ trainset.to_utc('_loaded_at') }} as loaded_at,
        landing_file
    from source
),

checked as (
    select
        *,
        case
            when order_id is null then 'null_order_id'
            when loaded_at is null then 'null_loaded_at'
            when customer_id is null then 'null_customer_id'
            when ordered_at_raw is null then 'null_timestamp'
            when ordered_at is null then 'unparseable_timestamp'
            when
                {{ trainset.is_implausible_timestamp('ordered_at') }}
                or {{ trainset.is_implausible_timestamp('loaded_at') }}
                then 'implausible_timestamp'
            when ordered_at > loaded_at + interval '1 hour' then 'future_timestamp'
            when
                order_status is null
                or order_status not in (select order_statuses.order_status from order_statuses)
                then 'invalid_status'
            when order_amount_raw is null then 'null_amount'
            when {{ trainset.is_non_finite('order_amount_raw') }} then 'non_finite_number'
            when order_amount_raw < 0 then 'negative_amount'
            when order_amount is null or order_amount > {{ var('max_order_amount') }}
                then 'absurd_amount'
        end as row_quarantine_reason
    from typed
)

select * from checked
