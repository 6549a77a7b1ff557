{#
    Drift between any two sets of rows, here the churn training set's last 90 days of cutoffs
    against the days before, for three of its features: `feature_drift` takes any two relations with the
    same columns. `dbt compile -s drift_between_cutoffs` prints the query to run by hand
    (target/compiled/.../analyses/drift_between_cutoffs.sql); change the split or the names.

    The linter also checks the macro's compiled SQL on this small case: `mon_training_drift`
    expands it for every feature of the training set (3,200 lines), too long to lint in CI's
    time, so that model is left out in .sqlfluffignore.
#}
{%- set names = ['plan', 'tenure_days', 'spend_sum_90d'] -%}
{%- set features = trainset.drift_feature_specs('train_churn_30d')
    | selectattr('name', 'in', names) | list -%}

with

training as (
    select * from {{ ref('train_churn_30d') }}
),

split as (
    select {{ dbt.dateadd('day', -90, 'max(training.cutoff_at)') }} as cutoff_at
    from training
),

earlier as (
    select training.*
    from training
    where training.cutoff_at < (select split.cutoff_at from split)
),

later as (
    select training.*
    from training
    where training.cutoff_at >= (select split.cutoff_at from split)
),

drift as (
    {{ trainset.feature_drift('earlier', 'later', features) }}
)

select * from drift
