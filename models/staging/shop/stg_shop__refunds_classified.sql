{{
    config(
        materialized='incremental' if target.type == 'duckdb' else 'table',
        incremental_strategy='delete+insert',
        unique_key='refund_id',
        on_schema_change='fail',
    )
}}

with

base as {{ trainset.inline_cte() }} (
    select * from {{ ref('base_shop__refunds') }}
),

orders as {{ trainset.inline_cte() }} (
    select
        order_id,
        bool_or(quarantine_reason is null) as has_valid_version
    from {{ ref('stg_shop__orders_classified') }}
    where order_id is not null
    group by order_id
),

{%- if is_incremental() %}

    {{ trainset.new_landing_files('base') }},

    changed_references as (
        -- keys whose order checks now give another answer
        select staged.refund_id
        from {{ this }} as staged
        left join orders
            on staged.order_id = orders.order_id
        where
            staged.has_known_order <> (orders.order_id is not null)
            or staged.has_valid_order <> coalesce(orders.has_valid_version, false)
    ),

    batch as (
        {{ trainset.staging_batch('base', 'refund_id', 'changed_references') }}
    ),
{%- endif %}

looked_up as {{ trainset.inline_cte() }} (
    select
        base.refund_id,
        base.order_id,
        base.refunded_at_raw,
        base.refunded_at,
        base.refund_amount_raw,
        base.refund_amount,
        base.loaded_at,
        base.landing_file,
        orders.order_id is not null as has_known_order,
        coalesce(orders.has_valid_version, false) as has_valid_order,
        base.row_quarantine_reason as base_quarantine_reason
    from {% if is_incremental() %}batch{% else %}base{% endif %} as base
    left join orders
        on base.order_id = orders.order_id
),

checked as {{ trainset.inline_cte() }} (
    -- The references are checked last: a row keeps the base's first failed check, if any.
    select
        refund_id,
        order_id,
        refunded_at_raw,
        refunded_at,
        refund_amount_raw,
        refund_amount,
        loaded_at,
        landing_file,
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
    tie_break_columns=['landing_file'],
) }}

select * from classified
