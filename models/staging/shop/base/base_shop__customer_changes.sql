with

source as (
    select * from {{ source('shop', 'customer_changes') }}
),

customers as (
    select distinct customer_id from {{ ref('base_shop__customers') }}
    where quarantine_reason is null
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
        source.change_id,
        source.customer_id,
        source.plan as plan_raw,
        lower(trim(source.plan)) as plan,
        source.segment as segment_raw,
        lower(trim(source.segment)) as segment,
        source.country as country_raw,
        upper(trim(source.country)) as country,
        source.changed_at as changed_at_raw,
        {{ trainset.parse_utc_timestamp('source.changed_at') }} as changed_at,
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
            when not has_known_customer then 'unknown_customer'
        end as row_quarantine_reason
    from typed
),

{{ trainset.classify_duplicates(
    checked_relation='checked',
    key_columns=['change_id'],
    payload_columns=['customer_id', 'plan_raw', 'segment_raw', 'country_raw', 'changed_at_raw'],
) }}

select * from classified
