with

source as (
    -- the landing files not staged yet on an increment (see macros/incremental/staging_batch.sql)
    select * from {{ trainset.landing_rows('customer_changes') }}
),

plans as (
    select * from {{ ref('plans') }}
),

segments as (
    select * from {{ ref('segments') }}
),

countries as (
    select * from {{ ref('countries') }}
),

typed as (
    select
        change_id,
        customer_id,
        plan as plan_raw,
        lower(trim(plan)) as plan,
        segment as segment_raw,
        lower(trim(segment)) as segment,
        country as country_raw,
        upper(trim(country)) as country,
        changed_at as changed_at_raw,
        {{ trainset.parse_utc_timestamp('changed_at') }} as changed_at,
        {{ trainset.to_utc('_loaded_at') }} as loaded_at,
        landing_file
    from source
),

checked as (
    select
        *,
        case
            when change_id is null then 'null_change_id'
            when loaded_at is null then 'null_loaded_at'
            when customer_id is null then 'null_customer_id'
            when changed_at_raw is null then 'null_timestamp'
            when changed_at is null then 'unparseable_timestamp'
            when
                {{ trainset.is_implausible_timestamp('changed_at') }}
                or {{ trainset.is_implausible_timestamp('loaded_at') }}
                then 'implausible_timestamp'
            when changed_at > loaded_at + interval '1 hour' then 'future_timestamp'
            when plan is null or plan not in (select plans.plan from plans) then 'invalid_plan'
            when segment is null or segment not in (select segments.segment from segments)
                then 'invalid_segment'
            when country is null or country not in (select countries.country_code from countries)
                then 'unknown_country'
        end as row_quarantine_reason
    from typed
)

select * from checked
