with

history as (
    select * from {{ ref('int_customers__history') }}
),

customers as (
    select * from {{ ref('stg_shop__customers') }}
),

final as (
    select
        history.customer_id,
        history.change_id,
        history.valid_from as effective_at,
        history.known_at,
        history.plan,
        history.segment,
        history.country,
        customers.signup_at
    from history
    inner join customers
        on history.customer_id = customers.customer_id
)

select * from final
