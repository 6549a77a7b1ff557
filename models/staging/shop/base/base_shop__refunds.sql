with

source as (
    -- the landing files not staged yet on an increment (see macros/incremental/staging_batch.sql)
    select * from {{ trainset.landing_rows('refunds') }}
),

typed as (
    select
        refund_id,
        order_id,
        refunded_at as refunded_at_raw,
        {{ trainset.parse_utc_timestamp('refunded_at') }} as refunded_at,
        amount as refund_amount_raw,
        {{ trainset.to_money('amount') }} as refund_amount,
        {{ trainset.to_utc('_loaded_at') }} as loaded_at,
        landing_file
    from source
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
        end as row_quarantine_reason
    from typed
)

select * from checked
