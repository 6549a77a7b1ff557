with

classified as (
    select * from {{ ref('stg_shop__customers_classified') }}
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
    from classified
    where
        quarantine_reason is null
        and duplicate_rank = 1
)

select * from valid
