{#
    Profile of each churn feature in the training set just built: rows, nulls, distinct values,
    mean, standard deviation, min, max and quantiles. The export stores it in the manifest with
    the set's histogram (mon_training_histogram, bins fixed by the reference export).
#}
{%- set features = trainset.drift_feature_specs('train_churn_30d') -%}

with

training as (
    select * from {{ ref('train_churn_30d') }}
),

profile as (
    {{ trainset.feature_profile('training', features) }}
)

select * from profile
