with

checked as (
    select * from {{ ref('base_shop__customer_changes') }}
),

valid as (
    select
        change_id,
        customer_id,
        plan,
        segment,
        country,
        changed_at,
        loaded_at
    from checked
    where
        quarantine_reason is null
        and duplicate_rank = 1
)

select * from valid
