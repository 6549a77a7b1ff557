{#
    Drift over time, for trend charts: every comparison `trainset drift` recorded (each
    exported version, a recent scoring spine, each day of logged inference: the Parquet files
    under `<exports>/churn_30d/drift_history/`), and the drift of this build against its
    reference export. One row per comparison and feature.
#}
{%- set history_glob = env_var('TRAINSET_EXPORTS_DIR', 'exports') ~ '/churn_30d/drift_history/*.parquet' -%}
{%- set recorded = [] -%}
{%- if execute -%}
    {#- glob() lists the files, and lists none (instead of failing) when there are none yet -#}
    {%- set found = run_query("select count(*) from glob('" ~ history_glob ~ "')") -%}
    {%- do recorded.append(found.rows[0][0] > 0) -%}
{%- endif -%}

with

build_drift as (
    select * from {{ ref('mon_training_drift') }}
),

this_build as (
    select
        cast('{{ run_started_at.isoformat() }}' as timestamptz) as compared_at,
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
    {%- if recorded and recorded[0] %}
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
        from read_parquet('{{ history_glob }}')
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
