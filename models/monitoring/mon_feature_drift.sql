{#
    Drift of each numeric feature between the training set (the reference) and the latest
    serving vectors (what the model sees now), as a population stability index.
#}
{%- set features = [
    'tenure_days', 'days_since_last_order', 'orders_count_7d', 'orders_count_30d',
    'orders_count_90d', 'spend_sum_30d', 'spend_sum_90d', 'spend_mean_90d',
    'categories_count_distinct_90d', 'sessions_count_30d', 'page_views_sum_30d',
] -%}

with

training as (
    select * from {{ ref('train_churn_30d') }}
),

serving as (
    select * from {{ ref('serve_customer__features') }}
),

drift as (
    {{ trainset.population_stability('training', 'serving', features) }}
)

select * from drift
