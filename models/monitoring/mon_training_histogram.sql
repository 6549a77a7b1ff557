{#
    Distributions of the churn features, reference against current, in bins fixed by the
    reference (the same inputs as mon_training_drift). Without a reference export yet, the
    current set stands on both sides, so its own bins are kept. The drift report draws these.
#}
{%- set task = 'churn_30d' -%}
{%- set features = trainset.drift_feature_specs('train_churn_30d') -%}
{%- set reference = trainset.drift_reference(task) -%}

with

training as (
    select * from {{ ref('train_churn_30d') }}
),

{{ trainset.drift_input_ctes(task) }},

histogram as (
    {%- if reference.path %}
        {{ trainset.feature_histogram('reference_rows', 'current_rows', features) }}
    {%- else %}
        {{ trainset.feature_histogram('current_rows', 'current_rows', features) }}
    {%- endif %}
),

final as (
    select
        histogram.*,
        cast(
            {{ "'" ~ reference.version ~ "'" if reference.version else 'null' }}
            as {{ dbt.type_string() }}
        ) as reference_version
    from histogram
)

select * from final
