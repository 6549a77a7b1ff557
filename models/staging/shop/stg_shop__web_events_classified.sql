{{
    config(
        materialized='incremental' if target.type == 'duckdb' else 'table',
        incremental_strategy='delete+insert',
        unique_key='event_id',
        on_schema_change='fail',
    )
}}

with

base as {{ trainset.inline_cte() }} (
    select * from {{ ref('base_shop__web_events') }}
),

customers as {{ trainset.inline_cte() }} (
    select distinct customer_id from {{ ref('stg_shop__customers') }}
),

{%- if is_incremental() %}

    {{ trainset.new_landing_files('base') }},

    changed_references as (
        -- keys whose customer check now gives another answer
        select staged.event_id
        from {{ this }} as staged
        left join customers
            on staged.customer_id = customers.customer_id
        where staged.has_known_customer <> (customers.customer_id is not null)
    ),

    batch as (
        {{ trainset.staging_batch('base', 'event_id', 'changed_references') }}
    ),
{%- endif %}

looked_up as {{ trainset.inline_cte() }} (
    select
        base.event_id,
        base.customer_id,
        base.event_at_raw,
        base.event_at,
        base.page_raw,
        base.page,
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
        event_id,
        customer_id,
        event_at_raw,
        event_at,
        page_raw,
        page,
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
    key_columns=['event_id'],
    payload_columns=['customer_id', 'event_at_raw', 'page_raw'],
    tie_break_columns=['landing_file'],
) }},

final as (
    -- The raw strings are kept where the quarantine shows them: on a staged row or a collapsed
    -- copy the typed columns hold them, and the base keeps every row's. At a million customers
    -- writing them for every page view was a third of this model's time.
    select
        event_id,
        customer_id,
        case when quarantine_reason is not null then event_at_raw end as event_at_raw,
        event_at,
        case when quarantine_reason is not null then page_raw end as page_raw,
        page,
        loaded_at,
        landing_file,
        has_known_customer,
        row_quarantine_reason,
        duplicate_rank,
        payload_first_loaded_at,
        payloads_first_seen_together,
        key_first_loaded_at,
        has_conflicting_duplicate,
        quarantine_reason
    from classified
)

select * from final
