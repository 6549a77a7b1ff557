-- No feature of the churn training set may come from after its cutoff. Each row's profile, last
-- order and session counts are recomputed here from only the feature rows effective and known
-- by the cutoff (and, for versioned sessions, not yet superseded then), by plain ranking and
-- counting: a training value that used a later row differs from its recomputation. Windows
-- must also nest (7d <= 30d <= 90d), and no duration may be negative.
-- The recomputation grows with cutoffs x feature rows per customer, so it covers at most
-- var('leakage_check_max_customers') customers: a fixed sample, ranked by a hash of the id
-- (every customer when the var is null or the set is smaller).
{%- set max_customers = var('leakage_check_max_customers') %}
with

checked_customers as (
    select customer_id
    from (
        select
            customer_id,
            row_number() over (
                order by {{ dbt.hash('customer_id') }}, customer_id
            ) as sample_rank
        from (select distinct customer_id from {{ ref('train_churn_30d') }}) as customers
    ) as ranked
    {% if max_customers -%}
        where sample_rank <= {{ max_customers }}
    {%- endif %}
),

training as (
    select churn.*
    from {{ ref('train_churn_30d') }} as churn
    inner join checked_customers
        on churn.customer_id = checked_customers.customer_id
),

profile as (
    select * from {{ ref('feat_customer__profile') }}
),

orders as (
    select * from {{ ref('feat_customer__orders') }}
),

sessions as (
    select * from {{ ref('feat_customer__web_sessions') }}
),

ranked_profiles as (
    select
        training.customer_id,
        training.cutoff_at,
        profile.plan,
        profile.segment,
        profile.country,
        profile.signup_at,
        row_number() over (
            partition by training.customer_id, training.cutoff_at
            order by profile.effective_at desc, profile.known_at desc, profile.change_id desc
        ) as profile_rank
    from training
    inner join profile
        on
            training.customer_id = profile.customer_id
            and training.cutoff_at >= profile.effective_at
            and training.cutoff_at >= profile.known_at
),

ranked_orders as (
    select
        training.customer_id,
        training.cutoff_at,
        orders.ordered_at,
        row_number() over (
            partition by training.customer_id, training.cutoff_at
            order by orders.effective_at desc, orders.known_at desc, orders.order_version desc
        ) as order_rank
    from training
    inner join orders
        on
            training.customer_id = orders.customer_id
            and training.cutoff_at >= orders.effective_at
            and training.cutoff_at >= orders.known_at
),

-- The sessions serving each row are found by an inner join on the customer with the time
-- conditions as a filter (a hash join), then joined back to every row: an outer join with the
-- `or` in its condition is planned as a nested loop over every session of every customer.
serving_sessions as (
    select
        training.customer_id,
        training.cutoff_at,
        count(sessions.session_id) as sessions_count_30d,
        sum(sessions.page_view_count) as page_views_sum_30d
    from training
    inner join sessions
        on training.customer_id = sessions.customer_id
    where
        training.cutoff_at >= sessions.effective_at
        and training.cutoff_at - interval '30 days' < sessions.effective_at
        and training.cutoff_at >= sessions.known_at
        and (sessions.superseded_at is null or training.cutoff_at < sessions.superseded_at)
    group by training.customer_id, training.cutoff_at
),

session_counts as (
    select distinct
        training.customer_id,
        training.cutoff_at,
        coalesce(serving_sessions.sessions_count_30d, 0) as sessions_count_30d,
        coalesce(serving_sessions.page_views_sum_30d, 0) as page_views_sum_30d
    from training
    left join serving_sessions
        on
            training.customer_id = serving_sessions.customer_id
            and training.cutoff_at = serving_sessions.cutoff_at
),

recomputed as (
    select
        training.customer_id,
        training.cutoff_at,
        ranked_profiles.plan,
        ranked_profiles.segment,
        ranked_profiles.country,
        cast(
            {{ dbt.datediff('ranked_profiles.signup_at', 'training.cutoff_at', 'day') }}
            as integer
        ) as tenure_days,
        cast(
            {{ dbt.datediff('ranked_orders.ordered_at', 'training.cutoff_at', 'day') }}
            as integer
        ) as days_since_last_order,
        session_counts.sessions_count_30d,
        session_counts.page_views_sum_30d
    from training
    left join ranked_profiles
        on
            training.customer_id = ranked_profiles.customer_id
            and training.cutoff_at = ranked_profiles.cutoff_at
            and ranked_profiles.profile_rank = 1
    left join ranked_orders
        on
            training.customer_id = ranked_orders.customer_id
            and training.cutoff_at = ranked_orders.cutoff_at
            and ranked_orders.order_rank = 1
    left join session_counts
        on
            training.customer_id = session_counts.customer_id
            and training.cutoff_at = session_counts.cutoff_at
),

failures as (
    select
        training.customer_id,
        training.cutoff_at,
        training.plan,
        recomputed.plan as recomputed_plan,
        training.days_since_last_order,
        recomputed.days_since_last_order as recomputed_days_since_last_order,
        training.sessions_count_30d,
        recomputed.sessions_count_30d as recomputed_sessions_count_30d
    from training
    inner join recomputed
        on
            training.customer_id = recomputed.customer_id
            and training.cutoff_at = recomputed.cutoff_at
    where
        training.plan is distinct from recomputed.plan
        or training.segment is distinct from recomputed.segment
        or training.country is distinct from recomputed.country
        or training.tenure_days is distinct from recomputed.tenure_days
        or training.days_since_last_order is distinct from recomputed.days_since_last_order
        or training.sessions_count_30d is distinct from recomputed.sessions_count_30d
        or training.page_views_sum_30d is distinct from recomputed.page_views_sum_30d
        or training.days_since_last_order < 0
        or training.tenure_days < 0
        or training.orders_count_7d > training.orders_count_30d
        or training.orders_count_30d > training.orders_count_90d
        or training.categories_count_distinct_30d > training.categories_count_distinct_90d
        or training.sessions_count_7d > training.sessions_count_30d
)

select * from failures
