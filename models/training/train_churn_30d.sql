with

labels as (
    select * from {{ ref('lbl_churn_30d') }}
),

spine as (
    select
        customer_id,
        cutoff_at,
        is_churned
    from labels
),

features as (
    {{ trainset.customer_features('spine', ['customer_id', 'cutoff_at', 'is_churned']) }}
),

final as (
    select
        customer_id,
        cutoff_at,
        plan,
        segment,
        country,
        tenure_days,
        days_since_last_order,
        orders_count_7d,
        orders_count_30d,
        orders_count_90d,
        spend_sum_7d,
        spend_sum_30d,
        spend_sum_90d,
        spend_mean_30d,
        spend_mean_90d,
        categories_count_distinct_30d,
        categories_count_distinct_90d,
        sessions_count_7d,
        sessions_count_30d,
        page_views_sum_30d,
        is_churned
    from features
)

select * from final
