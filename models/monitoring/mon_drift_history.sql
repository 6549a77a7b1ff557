{#
    Drift over time, for trend charts: every comparison `trainset drift` recorded (each
    exported version, a recent scoring spine, each day of logged inference: the Parquet files
    under `<exports>/churn_30d/drift_history/`), and the drift of this build against its
    reference export. One row per comparison and feature.
#}
{%- set history_folder = trainset.exports_dir() ~ '/churn_30d/drift_history' -%}
{%- set recorded_files = trainset.drift_history_relation(history_folder) -%}

with

build_drift as (
    select * from {{ ref('mon_training_drift') }}
),

this_build as (
    select
        cast('{{ run_started_at.isoformat() }}' as {{ trainset.drift_instant_type() }}) as compared_at,
        reference_version,
        'build ' || current_source as current_label,
        feature_name,
        method,
        score,
        threshold,
        is_drifted,
        severity,
        cast(reference_count as bigint) as reference_count,
        cast(current_count as bigint) as current_count
    from build_drift
    where reference_version is not null
),

recorded as (
    {%- if recorded_files %}
        select
            compared_at,
            reference_version,
            current_label,
            feature_name,
            method,
            score,
            threshold,
            is_drifted,
            severity,
            reference_count,
            current_count
        from {{ recorded_files }}
    {%- else %}
        select * from this_build
        where false
    {%- endif %}
),

history as (
    select * from recorded
    union all
    select * from this_build
)

select * from history
