{#
    Drift of each numeric feature of the churn training set: the rows at the latest cutoff
    (the most recent data) against all earlier cutoffs (the reference), as a population
    stability index.
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

latest_cutoff as (
    select max(cutoff_at) as cutoff_at from training
),

reference_rows as (
    select training.*
    from training
    where training.cutoff_at < (select latest_cutoff.cutoff_at from latest_cutoff)
),

recent_rows as (
    select training.*
    from training
    where training.cutoff_at = (select latest_cutoff.cutoff_at from latest_cutoff)
),

drift as (
    {{ trainset.population_stability('reference_rows', 'recent_rows', features) }}
)

select * from drift
