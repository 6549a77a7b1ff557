{#
    Drift of the churn training set against its reference, feature by feature, with the
    default methods of `feature_drift` and each feature's `meta.drift` overrides.

    Reference: the last accepted export of the task (its LATEST version), or the version or
    file named by the `drift_reference_version` / `drift_reference_path` vars. Current: the
    training set just built, or the Parquet files named by the `drift_current_path` var (a
    newer training set, a scoring spine or the served vectors of the request log). Without any
    export yet, every feature gets method 'none' and nothing can drift.
#}
{%- set task = 'churn_30d' -%}
{%- set features = trainset.drift_feature_specs('train_churn_30d') -%}
{%- set reference = trainset.drift_reference(task) -%}
{%- set current_path = trainset.drift_var('drift_current_path') -%}
{%- set shared = trainset.drift_shared_inputs() -%}
{#- On Spark, the inputs all statistics share are written once by the pre-hooks, as tables
    (Spark would plan each CTE once per reference), and dropped after. -#}
{%- if target.type == 'spark' %}
    {{ config(
        pre_hook=[
            "drop table if exists {{ trainset.drift_shared_inputs().value_counts }}",
            "{{ trainset.drift_shared_input_sql('" ~ task ~ "', 'train_churn_30d', 'value_counts') }}",
            "drop table if exists {{ trainset.drift_shared_inputs().chosen }}",
            "{{ trainset.drift_shared_input_sql('" ~ task ~ "', 'train_churn_30d', 'chosen') }}",
        ],
        post_hook=[
            "drop table if exists {{ trainset.drift_shared_inputs().value_counts }}",
            "drop table if exists {{ trainset.drift_shared_inputs().chosen }}",
        ],
    ) }}
{%- endif %}

with

training as (
    select * from {{ ref('train_churn_30d') }}
),

{{ trainset.drift_input_ctes(task) }},

drift as (
    {{ trainset.feature_drift('reference_rows', 'current_rows', features, shared=shared) }}
),

severities as (
    select
        declared.feature_name,
        declared.severity
    from (
        values
        {%- for feature in features %}
            ('{{ feature.name }}', '{{ feature.severity }}'){% if not loop.last %},{% endif %}
        {%- endfor %}
    ) as declared (feature_name, severity)
),

final as (
    select
        drift.feature_name,
        drift.feature_kind,
        drift.method,
        drift.statistic,
        drift.p_value,
        drift.p_value_method,
        drift.score,
        drift.threshold,
        drift.is_drifted,
        severities.severity,
        drift.reference_count,
        drift.current_count,
        drift.distinct_count,
        avg(case when drift.is_drifted then 1 else 0 end) over every_feature as drifted_share,
        avg(case when drift.is_drifted then 1 else 0 end) over every_feature
        >= {{ var('drift_share') }} as is_dataset_drifted,
        cast(
            {{ "'" ~ reference.version ~ "'" if reference.version else 'null' }}
            as {{ dbt.type_string() }}
        ) as reference_version,
        cast('{{ current_path or "train_churn_30d" }}' as {{ dbt.type_string() }}) as current_source
    from drift
    inner join severities on drift.feature_name = severities.feature_name
    {#- A frame over every row in order, not an empty window specification: with an empty one
        here, DuckDB 1.5.5 fails now and then with "Attempted to access index 0 within vector of
        size 0" and invalidates the database (about 1 run in 40 at 64 threads, 1 in 150 at 2;
        none in 400 at 64 threads this way). python/tests/test_sql_rules.py keeps it out. #}
    window every_feature as (
        order by drift.feature_name rows between unbounded preceding and unbounded following
    )
)

select * from final
