with

source as (
    select * from {{ source('shop', 'web_events') }}
),

customers as (
    select distinct customer_id from {{ ref('base_shop__customers') }}
    where quarantine_reason is null
),

typed as (
    select
        source.event_id,
        source.customer_id,
        source.event_at as event_at_raw,
        {{ trainset.parse_utc_timestamp('source.event_at') }} as event_at,
        lower(trim(source.page)) as page,
        {{ trainset.to_utc('source._loaded_at') }} as loaded_at
    from source
),

flagged as (
    select
        typed.*,
        row_number() over (
            partition by
                typed.event_id, typed.customer_id, typed.event_at_raw, typed.page, typed.loaded_at
            order by typed.loaded_at
        ) as duplicate_rank,
        count(*) over (partition by typed.event_id) > count(*) over (
            partition by
                typed.event_id, typed.customer_id, typed.event_at_raw, typed.page, typed.loaded_at
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
            when event_id is null then 'null_event_id'
            when has_conflicting_duplicate then 'conflicting_duplicate'
            when customer_id is null then 'null_customer_id'
            when event_at_raw is null then 'null_timestamp'
            when event_at is null then 'unparseable_timestamp'
            when event_at > loaded_at + interval '1 hour' then 'future_timestamp'
            when not has_known_customer then 'unknown_customer'
        end as quarantine_reason
    from flagged
)

select * from checked
