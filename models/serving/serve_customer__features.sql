{#
    The latest feature vector of every customer, computed by the same macro as the training
    set with each customer's spine row at the serving time: `var('serving_at')` when given,
    otherwise the last load time seen in the order feed.
#}
with

customers as (
    select * from {{ ref('stg_shop__customers') }}
),

orders as (
    select * from {{ ref('feat_customer__orders') }}
),

serving_time as (
    select
        {%- if var('serving_at', none) %}
        cast('{{ var("serving_at") }}' as timestamp) as served_at
        {%- else %}
            max(known_at) as served_at
        {%- endif %}
    from orders
),

spine as (
    select
        customers.customer_id,
        serving_time.served_at as cutoff_at
    from customers
    cross join serving_time
),

features as (
    {{ trainset.customer_features('spine', ['customer_id', 'cutoff_at']) }}
),

final as (
    select
        customer_id,
        cutoff_at as served_at,
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
        page_views_sum_30d
    from features
)

select * from final
