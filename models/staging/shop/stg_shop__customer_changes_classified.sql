{{
    config(
        materialized='incremental' if target.type == 'duckdb' else 'table',
        incremental_strategy='delete+insert',
        unique_key='change_id',
        on_schema_change='fail',
    )
}}

with

base as {{ trainset.inline_cte() }} (
    select * from {{ ref('base_shop__customer_changes') }}
),

customers as {{ trainset.inline_cte() }} (
    select distinct customer_id from {{ ref('stg_shop__customers') }}
),

{%- if is_incremental() %}

    {{ trainset.new_landing_files('base') }},

    changed_references as (
        -- keys whose customer check now gives another answer
        select staged.change_id
        from {{ this }} as staged
        left join customers
            on staged.customer_id = customers.customer_id
        where staged.has_known_customer <> (customers.customer_id is not null)
    ),

    batch as (
        {{ trainset.staging_batch('base', 'change_id', 'changed_references') }}
    ),
{%- endif %}

looked_up as {{ trainset.inline_cte() }} (
    select
        base.change_id,
        base.customer_id,
        base.plan_raw,
        base.plan,
        base.segment_raw,
        base.segment,
        base.country_raw,
        base.country,
        base.changed_at_raw,
        base.changed_at,
        base.loaded_at,
        base.landing_file,
        customers.customer_id is not null as has_known_customer,
        base.row_quarantine_reason as base_quarantine_reason
    from {% if is_incremental() %}batch{% else %}base{% endif %} as base
    left join customers
        on base.customer_id = customers.customer_id
),

checked as {{ trainset.inline_cte() }} (
    -- The references are checked last: a row keeps the base's first failed check, if any.
    select
        change_id,
        customer_id,
        plan_raw,
        plan,
        segment_raw,
        segment,
        country_raw,
        country,
        changed_at_raw,
        changed_at,
        loaded_at,
        landing_file,
        has_known_customer,
        coalesce(
            base_quarantine_reason,
            case
                when not has_known_customer then 'unknown_customer'
            end
        ) as row_quarantine_reason
    from looked_up
),

{{ trainset.classify_duplicates(
    checked_relation='checked',
    key_columns=['change_id'],
    payload_columns=['customer_id', 'plan_raw', 'segment_raw', 'country_raw', 'changed_at_raw'],
    tie_break_columns=['landing_file'],
) }}

select * from classified
