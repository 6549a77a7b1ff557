with

changes as (
    select * from {{ ref('stg_shop__customer_changes') }}
),

history as (
    select
        customer_id,
        change_id,
        plan,
        segment,
        country,
        changed_at as valid_from,
        lead(changed_at) over (
            partition by customer_id order by changed_at, change_id
        ) as valid_to,
        greatest(loaded_at, changed_at) as known_at
    from changes
)

select * from history
