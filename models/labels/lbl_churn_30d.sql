{#
    The churn spine: one row per active customer per month-start cutoff.
    Active: signed up by the cutoff and a completed order in the lookback window before it, as
    known at the cutoff. Label: no completed order (final, corrected state) in
    (cutoff_at, cutoff_at + horizon]. Only cutoffs whose whole horizon lies inside the observed
    data get rows, so no label is censored.
#}
{%- set horizon = var('churn_horizon_days') -%}
{%- set lookback = var('churn_active_lookback_days') -%}

with

orders as (
    select * from {{ ref('int_orders__versioned') }}
),

customers as (
    select * from {{ ref('stg_shop__customers') }}
),

observed as (
    select
        min(effective_at) as first_order_at,
        max(effective_at) as last_order_at
    from orders
),

cutoffs as (
    select cast(series.cutoff_at as timestamp) as cutoff_at
    from observed
    cross join {{ trainset.timestamp_series(
        start="cast(date_trunc('month', observed.first_order_at + interval '"
            ~ lookback ~ " days') as timestamp) + interval '1 month'",
        stop="observed.last_order_at - interval '" ~ horizon ~ " days'",
        step='1 month',
        column='cutoff_at',
    ) }}
),

active_at_cutoff as (
    select distinct
        orders.customer_id,
        cutoffs.cutoff_at
    from cutoffs
    inner join orders
        on
            cutoffs.cutoff_at >= orders.effective_at
            and orders.effective_at > cutoffs.cutoff_at - interval '{{ lookback }} days'
            and cutoffs.cutoff_at >= orders.known_at
            and (
                orders.superseded_at is null
                or cutoffs.cutoff_at < orders.superseded_at
            )
    where orders.is_completed
),

spine as (
    select
        active_at_cutoff.customer_id,
        active_at_cutoff.cutoff_at
    from active_at_cutoff
    inner join customers
        on active_at_cutoff.customer_id = customers.customer_id
    where customers.signup_at <= active_at_cutoff.cutoff_at
),

completed_in_horizon as (
    select
        spine.customer_id,
        spine.cutoff_at,
        count(orders.order_id) as completed_order_count
    from spine
    left join orders
        on
            spine.customer_id = orders.customer_id
            and orders.is_latest_version
            and orders.is_completed
            and spine.cutoff_at < orders.effective_at
            and orders.effective_at <= spine.cutoff_at + interval '{{ horizon }} days'
    group by spine.customer_id, spine.cutoff_at
),

final as (
    select
        customer_id,
        cutoff_at,
        cutoff_at + interval '{{ horizon }} days' as horizon_end_at,
        completed_order_count = 0 as is_churned
    from completed_in_horizon
)

select * from final
