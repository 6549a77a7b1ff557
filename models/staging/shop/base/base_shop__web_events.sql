with

source as (
    select * from {{ source('shop', 'web_events') }}
),

customers as (
    select distinct customer_id from {{ ref('base_shop__customers') }}
    where quarantine_reason is null
),

pages as (
    select * from {{ ref('pages') }}
),

typed as (
    select
        source.event_id,
        source.customer_id,
        source.event_at as event_at_raw,
        {{ trainset.parse_utc_timestamp('source.event_at') }} as event_at,
        source.page as page_raw,
        lower(trim(source.page)) as page,
        {{ trainset.to_utc('source._loaded_at') }} as loaded_at,
        customers.customer_id is not null as has_known_customer
    from source
    left join customers
        on source.customer_id = customers.customer_id
),

checked as (
    select
        *,
        case
            when event_id is null then 'null_event_id'
            when loaded_at is null then 'null_loaded_at'
            when customer_id is null then 'null_customer_id'
            when event_at_raw is null then 'null_timestamp'
            when event_at is null then 'unparseable_timestamp'
            when
                {{ trainset.is_implausible_timestamp('event_at') }}
                or {{ trainset.is_implausible_timestamp('loaded_at') }}
                then 'implausible_timestamp'
            when event_at > loaded_at + interval '1 hour' then 'future_timestamp'
            when page is null or page not in (select pages.page from pages) then 'unknown_page'
            when not has_known_customer then 'unknown_customer'
        end as row_quarantine_reason
    from typed
),

{{ trainset.classify_duplicates(
    checked_relation='checked',
    key_columns=['event_id'],
    payload_columns=['customer_id', 'event_at_raw', 'page_raw'],
) }}

select * from classified
