with

source as (
    select * from {{ source('shop', 'customers') }}
),

typed as (
    select
        customer_id,
        email,
        signup_at as signup_at_raw,
        {{ trainset.parse_utc_timestamp('signup_at') }} as signup_at,
        lower(trim(plan)) as plan,
        lower(trim(segment)) as segment,
        upper(trim(country)) as country,
        updated_at as updated_at_raw,
        {{ trainset.parse_utc_timestamp('updated_at') }} as updated_at,
        {{ trainset.to_utc('_loaded_at') }} as loaded_at
    from source
),

flagged as (
    select
        *,
        row_number() over (
            partition by
                customer_id, email, signup_at_raw, plan, segment, country, updated_at_raw, loaded_at
            order by loaded_at
        ) as duplicate_rank,
        count(*) over (partition by customer_id) > count(*) over (
            partition by
                customer_id, email, signup_at_raw, plan, segment, country, updated_at_raw, loaded_at
        ) as has_conflicting_duplicate
    from typed
),

checked as (
    select
        *,
        case
            when customer_id is null then 'null_customer_id'
            when has_conflicting_duplicate then 'conflicting_duplicate'
            when signup_at_raw is null or updated_at_raw is null then 'null_timestamp'
            when signup_at is null or updated_at is null then 'unparseable_timestamp'
            when signup_at > loaded_at + interval '1 hour' then 'future_timestamp'
            when plan not in ('free', 'basic', 'pro') or plan is null then 'invalid_plan'
            when segment not in ('consumer', 'smb', 'enterprise') or segment is null
                then 'invalid_segment'
        end as quarantine_reason
    from flagged
)

select * from checked
