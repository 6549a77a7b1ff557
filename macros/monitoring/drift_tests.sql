{#
    The drift gate: rows of a drift model whose feature drifted and whose severity is
    `severity_level`. Declared twice on each drift model, once with `severity: error` (fails the
    build, and `trainset export` refuses the set unless the drift is accepted) and once with
    `severity: warn` (reported only).
#}
{% test drift_within_threshold(model, severity_level) %}
    select
        feature_name,
        method,
        score,
        threshold,
        severity
    from {{ model }}
    where is_drifted and severity = '{{ severity_level }}'
{% endtest %}
