with

classified as (
    select * from {{ ref('stg_shop__customer_changes_classified') }}
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
    from classified
    where
        quarantine_reason is null
        and duplicate_rank = 1
)

select * from valid
