with

source as (
    -- the landing files not staged yet on an increment (see macros/incremental/staging_batch.sql)
    select * from {{ trainset.landing_rows('web_events') }}
),

pages as (
    select * from {{ ref('pages') }}
),

typed as (
    select
        event_id,
        customer_id,
        event_at as event_at_raw,
        {{ trainset.parse_utc_timestamp('event_at') }} as event_at,
        page as page_raw,
        lower(trim(page)) as page,
        {{ trainset.to_utc('_loaded_at') }} as loaded_at,
        landing_file
    from source
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
        end as row_quarantine_reason
    from typed
)

select * from checked
