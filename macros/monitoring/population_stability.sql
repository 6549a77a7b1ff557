{#
    Population stability index of numeric columns between a reference and a current relation.

    Bins are the reference's quantiles (`bins` equal-frequency bins); nulls get a bin of their
    own. PSI = sum over bins of (current_share - reference_share) * ln(current_share /
    reference_share), with shares floored at 0.0001 so empty bins stay finite. Rule of thumb:
    < 0.1 stable, 0.1 to 0.25 a moderate shift, > 0.25 a large shift.

    Returns one row per column: feature_name, psi, reference_rows, current_rows.
#}
{% macro population_stability(reference, current, columns, bins=10) -%}
    {{ return(adapter.dispatch('population_stability', 'trainset')(reference, current, columns, bins)) }}
{%- endmacro %}

{% macro default__population_stability(reference, current, columns, bins=10) -%}
    {%- for column in columns %}
    select
        '{{ column }}' as feature_name,
        sum(
            (greatest(current_share, 0.0001) - greatest(reference_share, 0.0001))
            * ln(greatest(current_share, 0.0001) / greatest(reference_share, 0.0001))
        ) as psi,
        max(reference_rows) as reference_rows,
        max(current_rows) as current_rows
    from (
        select
            coalesce(reference_bins.bin, current_bins.bin) as bin,
            coalesce(reference_bins.share, 0) as reference_share,
            coalesce(current_bins.share, 0) as current_share,
            max(reference_bins.total) over () as reference_rows,
            max(current_bins.total) over () as current_rows
        from (
            {{ trainset._psi_bins(reference, reference, column, bins) }}
        ) as reference_bins
        full outer join (
            {{ trainset._psi_bins(reference, current, column, bins) }}
        ) as current_bins
            on reference_bins.bin = current_bins.bin
    ) as shares
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
{%- endmacro %}

{# Shares of `relation`'s rows in the quantile bins of `reference` for one column: the cut
   points are computed once, in one aggregate over the reference, and joined to every row. #}
{% macro _psi_bins(reference, relation, column, bins) -%}
    select
        bin,
        cast(count(*) as {{ trainset.drift_double() }}) / sum(count(*)) over () as share,
        sum(count(*)) over () as total
    from (
        select
            case
                when {{ column }} is null then -1
                {%- for step in range(1, bins) %}
                    when {{ column }} <= cut_points.q{{ step }} then {{ step }}
                {%- endfor %}
                else {{ bins }}
            end as bin
        from {{ relation }}
        cross join (
            select
                {%- for step in range(1, bins) %}
                    percentile_cont({{ step / bins }}) within group (order by {{ column }}) as q{{ step }}
                    {%- if not loop.last %},{% endif %}
                {%- endfor %}
            from {{ reference }}
        ) as cut_points
    ) as binned
    group by bin
{%- endmacro %}
