with

source as (
    select * from {{ source('shop', 'customer_changes') }}
),

customers as (
    select distinct customer_id from {{ ref('base_shop__customers') }}
    where quarantine_reason is null
),

typed as (
    select
        source.change_id,
        source.customer_id,
        lower(trim(source.plan)) as plan,
        lower(trim(source.segment)) as segment,
        upper(trim(source.country)) as country,
        source.changed_at as changed_at_raw,
        {{ trainset.parse_utc_timestamp('source.changed_at') }} as changed_at,
        {{ trainset.to_utc('source._loaded_at') }} as loaded_at
    from source
),

flagged as (
    select
        typed.*,
        row_number() over (
            partition by
                typed.change_id, typed.customer_id, typed.plan, typed.segment, typed.country,
                typed.changed_at_raw, typed.loaded_at
            order by typed.loaded_at
        ) as duplicate_rank,
        count(*) over (partition by typed.change_id) > count(*) over (
            partition by
                typed.change_id, typed.customer_id, typed.plan, typed.segment, typed.country,
                typed.changed_at_raw, typed.loaded_at
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
            when change_id is null then 'null_change_id'
            when has_conflicting_duplicate then 'conflicting_duplicate'
            when customer_id is null then 'null_customer_id'
            when changed_at_raw is null then 'null_timestamp'
            when changed_at is null then 'unparseable_timestamp'
            when changed_at > loaded_at + interval '1 hour' then 'future_timestamp'
            when plan not in ('free', 'basic', 'pro') or plan is null then 'invalid_plan'
            when segment not in ('consumer', 'smb', 'enterprise') or segment is null
                then 'invalid_segment'
            when not has_known_customer then 'unknown_customer'
        end as quarantine_reason
    from flagged
)

select * from checked
