-- No feature of the churn training set may come from after its cutoff: the last order and the
-- profile used must be effective and known by then, and windows must nest (7d <= 30d <= 90d).
with

training as (
    select * from {{ ref('train_churn_30d') }}
)

select *
from training
where
    days_since_last_order < 0
    or tenure_days < 0
    or orders_count_7d > orders_count_30d
    or orders_count_30d > orders_count_90d
    or categories_count_distinct_30d > categories_count_distinct_90d
    or sessions_count_7d > sessions_count_30d
