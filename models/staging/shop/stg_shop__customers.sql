with

checked as (
    select * from {{ ref('base_shop__customers') }}
),

valid as (
    select
        customer_id,
        email,
        signup_at,
        plan,
        segment,
        country,
        updated_at,
        loaded_at
    from checked
    where
        quarantine_reason is null
        and duplicate_rank = 1
)

select * from valid
