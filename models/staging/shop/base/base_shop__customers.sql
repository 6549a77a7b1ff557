-- A table: the customers file is one current state rewritten with every load, read whole.
{{ config(materialized='table') }}

with

source as (
    select * from {{ source('shop', 'customers') }}
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
        customer_id,
        email,
        signup_at as signup_at_raw,
        {{ trainset.parse_utc_timestamp('signup_at') }} as signup_at,
        plan as plan_raw,
        lower(trim(plan)) as plan,
        segment as segment_raw,
        lower(trim(segment)) as segment,
        country as country_raw,
        upper(trim(country)) as country,
        updated_at as updated_at_raw,
        {{ trainset.parse_utc_timestamp('updated_at') }} as updated_at,
        {{ trainset.to_utc('_loaded_at') }} as loaded_at
    from source
),

checked as (
    select
        *,
        case
            when customer_id is null then 'null_customer_id'
            when loaded_at is null then 'null_loaded_at'
            when signup_at_raw is null or updated_at_raw is null then 'null_timestamp'
            when signup_at is null or updated_at is null then 'unparseable_timestamp'
            when
                {{ trainset.is_implausible_timestamp('signup_at') }}
                or {{ trainset.is_implausible_timestamp('updated_at') }}
                or {{ trainset.is_implausible_timestamp('loaded_at') }}
                then 'implausible_timestamp'
            when signup_at > loaded_at + interval '1 hour' then 'future_timestamp'
            when plan is null or plan not in (select plans.plan from plans) then 'invalid_plan'
            when segment is null or segment not in (select segments.segment from segments)
                then 'invalid_segment'
            when country is null or country not in (select countries.country_code from countries)
                then 'unknown_country'
        end as row_quarantine_reason
    from typed
)

select * from checked
