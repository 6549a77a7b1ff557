-- Leakage and exactness of the churn training set, checked against a plain correlated
-- definition of the time contract: for every training row, the order features recomputed
-- from order versions effective and known at or before the cutoff (and not yet superseded then)
-- must equal what the training set holds. A feature that used any later information differs.
with

training as (
    select * from {{ ref('train_churn_30d') }}
),

orders as (
    select * from {{ ref('feat_customer__orders') }}
),

visible_orders as (
    select
        training.customer_id,
        training.cutoff_at,
        orders.effective_at,
        orders.completed_order_id,
        orders.completed_amount
    from training
    inner join orders
        on
            training.customer_id = orders.customer_id
            and training.cutoff_at >= orders.effective_at
            and training.cutoff_at >= orders.known_at
            and (orders.superseded_at is null or training.cutoff_at < orders.superseded_at)
),

reference as (
    select
        training.customer_id,
        training.cutoff_at,
        count(visible_orders.completed_order_id) filter (
            where visible_orders.effective_at > training.cutoff_at - interval '30 days'
        ) as orders_count_30d,
        count(visible_orders.completed_order_id) filter (
            where visible_orders.effective_at > training.cutoff_at - interval '90 days'
        ) as orders_count_90d,
        coalesce(sum(visible_orders.completed_amount) filter (
            where visible_orders.effective_at > training.cutoff_at - interval '90 days'
        ), 0) as spend_sum_90d
    from training
    left join visible_orders
        on
            training.customer_id = visible_orders.customer_id
            and training.cutoff_at = visible_orders.cutoff_at
    group by training.customer_id, training.cutoff_at
)

select
    training.customer_id,
    training.cutoff_at,
    training.orders_count_30d,
    reference.orders_count_30d as reference_orders_count_30d,
    training.orders_count_90d,
    reference.orders_count_90d as reference_orders_count_90d,
    training.spend_sum_90d,
    reference.spend_sum_90d as reference_spend_sum_90d
from training
inner join reference
    on
        training.customer_id = reference.customer_id
        and training.cutoff_at = reference.cutoff_at
where
    training.orders_count_30d <> reference.orders_count_30d
    or training.orders_count_90d <> reference.orders_count_90d
    or abs(training.spend_sum_90d - reference.spend_sum_90d) > 1e-6
