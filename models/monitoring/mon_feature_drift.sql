{#
    Drift of each numeric feature of the churn training set: the rows at the latest cutoff
    (the most recent data) against all earlier cutoffs (the reference), as a population
    stability index.
#}
{#- the numeric features of the training set, as declared in its YAML -#}
{%- set features = trainset.drift_feature_specs('train_churn_30d')
    | selectattr('kind', 'equalto', 'numeric') | map(attribute='name') | list -%}

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
