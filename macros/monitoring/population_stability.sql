{#
    Population stability index of numeric columns between a reference and a current relation.

    Bins are the reference's quantiles (`bins` equal-frequency bins); nulls get a bin of their
    own. PSI = sum over bins of (current_share - reference_share) * ln(current_share /
    reference_share), with shares floored at 0.0001 so empty bins stay finite, rounded to 12
    decimal places: the engine adds the bins in any order, and the last bits of a float sum
    follow that order, so the same data must not give two values. Rule of thumb:
    < 0.1 stable, 0.1 to 0.25 a moderate shift, > 0.25 a large shift.

    Returns one row per column: feature_name, psi, reference_rows, current_rows.
#}
{% macro population_stability(reference, current, columns, bins=10) -%}
    {{ return(adapter.dispatch('population_stability', 'trainset')(reference, current, columns, bins)) }}
{%- endmacro %}

{#- All columns at once, in long form (one row per column and input row): one aggregate gives
    every column's cut points, one more every bin's count, whatever the number of columns. -#}
{% macro default__population_stability(reference, current, columns, bins=10) -%}
    select
        psi_columns.feature_name,
        psi_sums.psi,
        psi_sums.reference_rows,
        psi_sums.current_rows
    from (
        values
        {%- for column in columns %}
            ('{{ column }}'){% if not loop.last %},{% endif %}
        {%- endfor %}
    ) as psi_columns (feature_name)
    left join (
        select
            psi_shares.feature_name,
            round(
                sum(
                    (greatest(psi_shares.current_share, 0.0001) - greatest(psi_shares.reference_share, 0.0001))
                    * ln(greatest(psi_shares.current_share, 0.0001) / greatest(psi_shares.reference_share, 0.0001))
                ),
                12
            ) as psi,
            max(psi_shares.reference_rows) as reference_rows,
            max(psi_shares.current_rows) as current_rows
        from (
            -- the reference's cut points, computed once for both sides' bins
            with psi_cut_points as (
                {{ trainset.psi_cut_points(reference, columns, bins) }}
            )

            select
                coalesce(reference_bins.feature_name, current_bins.feature_name) as feature_name,
                coalesce(reference_bins.share, 0) as reference_share,
                coalesce(current_bins.share, 0) as current_share,
                max(reference_bins.total) over (
                    partition by coalesce(reference_bins.feature_name, current_bins.feature_name)
                ) as reference_rows,
                max(current_bins.total) over (
                    partition by coalesce(reference_bins.feature_name, current_bins.feature_name)
                ) as current_rows
            from (
                {{ trainset._psi_bins('psi_cut_points', reference, columns, bins) }}
            ) as reference_bins
            full outer join (
                {{ trainset._psi_bins('psi_cut_points', current, columns, bins) }}
            ) as current_bins
                on
                    reference_bins.feature_name = current_bins.feature_name
                    and reference_bins.bin = current_bins.bin
        ) as psi_shares
        group by psi_shares.feature_name
    ) as psi_sums
        on psi_columns.feature_name = psi_sums.feature_name
{%- endmacro %}

{# The columns of `relation` in long form: feature_name, value (as a double). #}
{% macro _psi_values(relation, columns) -%}
    {%- for column in columns %}
        select
            '{{ column }}' as feature_name,
            cast({{ column }} as {{ trainset.drift_double() }}) as value
        from {{ relation }}
        {%- if not loop.last %}
            union all
        {%- endif %}
    {%- endfor %}
{%- endmacro %}

{# Shares of `relation`'s rows in the bins `cut_points` (a relation of psi_cut_points' form)
   cuts, per column. #}
{% macro _psi_bins(cut_points, relation, columns, bins) -%}
    select
        binned.feature_name,
        binned.bin,
        cast(count(*) as {{ trainset.drift_double() }})
        / sum(count(*)) over (partition by binned.feature_name) as share,
        sum(count(*)) over (partition by binned.feature_name) as total
    from (
        select
            long_values.feature_name,
            case
                when long_values.value is null then -1
                {%- for step in range(1, bins) %}
                    when long_values.value <= cut_points.q{{ step }} then {{ step }}
                {%- endfor %}
                else {{ bins }}
            end as bin
        from (
            {{ trainset._psi_values(relation, columns) }}
        ) as long_values
        left join {{ cut_points }} as cut_points
            on long_values.feature_name = cut_points.feature_name
    ) as binned
    group by binned.feature_name, binned.bin
{%- endmacro %}

{# The reference's cut points per column: feature_name, q1 to q(bins - 1). #}
{% macro psi_cut_points(reference, columns, bins) -%}
    {{ return(adapter.dispatch('psi_cut_points', 'trainset')(reference, columns, bins)) }}
{%- endmacro %}

{% macro default__psi_cut_points(reference, columns, bins) -%}
    select
        reference_values.feature_name,
        {%- for step in range(1, bins) %}
            percentile_cont({{ step / bins }}) within group (order by reference_values.value)
            as q{{ step }}{% if not loop.last %},{% endif %}
        {%- endfor %}
    from (
        {{ trainset._psi_values(reference, columns) }}
    ) as reference_values
    group by reference_values.feature_name
{%- endmacro %}

{#- Each quantile aggregate holds its own copy of the values it reads: one aggregate asked for
    every cut point holds them once instead of bins - 1 times, with the same values
    (`percentile_cont` is DuckDB's name for the same function). -#}
{% macro duckdb__psi_cut_points(reference, columns, bins) -%}
    select
        cut_lists.feature_name,
        {%- for step in range(1, bins) %}
            cut_lists.cuts[{{ step }}] as q{{ step }}{% if not loop.last %},{% endif %}
        {%- endfor %}
    from (
        select
            reference_values.feature_name,
            quantile_cont(
                reference_values.value,
                [{% for step in range(1, bins) %}{{ step / bins }}{% if not loop.last %}, {% endif %}{% endfor %}]
            ) as cuts
        from (
            {{ trainset._psi_values(reference, columns) }}
        ) as reference_values
        group by reference_values.feature_name
    ) as cut_lists
{%- endmacro %}
