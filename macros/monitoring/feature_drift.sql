{#
    Drift of each feature of a `current` relation against a `reference` relation: one row per
    feature with the method used, its statistic, p-value (tests) and score, the threshold and
    the verdict.

    `features` is a list of dicts: `name`, `kind` ('numeric' or 'categorical', from the declared
    type), and optionally `method` and `threshold` (from the column's `meta.drift`). Values that
    are null or +-infinity are left out on each side, per feature, before anything is counted.

    The default method (`auto`) follows the data-drift preset of common monitoring tools, so
    the numbers match the ones users already know (see `drift_methods` for the thresholds):
    - reference of at most 1000 values: numeric with more than 5 distinct values (reference and
      current together) -> two-sample Kolmogorov-Smirnov; with 3 to 5, or categorical with more
      than 2 -> chi-squared against the reference counts scaled to the current size; 2 or fewer
      -> Z-test for two proportions;
    - larger reference: numeric with more than 5 distinct values -> Wasserstein distance over
      the reference's population standard deviation (floored at 0.001); anything else ->
      Jensen-Shannon distance of the value shares (natural log).
    Any method can be forced for any feature: ks, chisquare, z, wasserstein, jensenshannon, psi.

    Score: the p-value for tests (drift when p <= threshold for ks, p < threshold for chisquare
    and z), the distance for the others (drift when score >= threshold).

    Kolmogorov-Smirnov p-value: exact when both sides have at most 10000 values (the share of
    lattice paths from (0, 0) to (m, n) that stay inside the band |n x - m y| < h gcd(m, n),
    counted column by column in a recursive CTE and rescaled at each step); above that the
    Kolmogorov limit 2 sum (-1)^(k-1) exp(-2 k^2 z^2), an approximation (`p_value_method`).
    On Spark the exact count is not made (`drift_exact_ks_size`): every size is asymptotic.
#}
{% macro feature_drift(reference, current, features, shared=none, output='verdicts') -%}
    {{ return(adapter.dispatch('feature_drift', 'trainset')(reference, current, features, shared, output)) }}
{%- endmacro %}

{# Default threshold and direction of each method: the one place these are declared. #}
{% macro drift_methods() -%}
    {{ return({
        'ks': {'threshold': 0.05, 'kind': 'p_value', 'inclusive': true},
        'chisquare': {'threshold': 0.05, 'kind': 'p_value', 'inclusive': false},
        'z': {'threshold': 0.05, 'kind': 'p_value', 'inclusive': false},
        'wasserstein': {'threshold': 0.1, 'kind': 'distance', 'inclusive': true},
        'jensenshannon': {'threshold': 0.1, 'kind': 'distance', 'inclusive': true},
        'psi': {'threshold': 0.1, 'kind': 'distance', 'inclusive': true},
    }) }}
{%- endmacro %}

{% macro default__feature_drift(reference, current, features, shared=none, output='verdicts') -%}
    {{ return(trainset._feature_drift_query(reference, current, features, shared, output, false)) }}
{%- endmacro %}

{#
    DuckDB: the same query, except that numeric features that may take Kolmogorov-Smirnov or
    Wasserstein and look continuous (more than 20 distinct values, over half of them distinct,
    among the reference's first 10000 rows) are not counted per distinct value: their values are
    sorted once, side by side, and the two distribution functions are read at the last row of
    each run of equal values (`sorted_summary`). Grouping nearly as many keys as rows and then
    sorting the groups cost several times one sort. The sample only routes the work: both
    routes give the same numbers (python/tests/test_drift_sorted.py).
#}
{% macro duckdb__feature_drift(reference, current, features, shared=none, output='verdicts') -%}
    {{ return(trainset._feature_drift_query(
        reference, current, features, shared, output, shared is none and output == 'verdicts')) }}
{%- endmacro %}

{% macro _feature_drift_query(reference, current, features, shared, output, sorted_numeric) -%}
    {%- set methods = trainset.drift_methods() -%}
    {%- set double = trainset.drift_double() -%}
    {%- set exact_size = trainset.drift_exact_ks_size() -%}
    {%- for feature in features -%}
        {%- if feature.get('method', 'auto') not in methods and feature.get('method', 'auto') != 'auto' -%}
            {{ exceptions.raise_compiler_error(
                "feature_drift: feature '" ~ feature.name ~ "' asks for method '" ~ feature.method
                ~ "'; use one of auto, " ~ (methods.keys() | list | join(', '))) }}
        {%- endif -%}
        {%- if feature.kind not in ['numeric', 'categorical'] -%}
            {{ exceptions.raise_compiler_error(
                "feature_drift: feature '" ~ feature.name ~ "' has kind '" ~ feature.kind
                ~ "'; use numeric or categorical") }}
        {%- endif -%}
    {%- endfor -%}
with{{ ' recursive' if exact_size > 0 }}

specs as (
    select *
    from (
        values
        {%- for feature in features %}
            (
                '{{ feature.name }}',
                '{{ feature.kind }}',
                '{{ feature.get("method") or "auto" }}',
                cast({{ feature.get('threshold') if feature.get('threshold') is not none else 'null' }} as {{ double }})
            ){% if not loop.last %},{% endif %}
        {%- endfor %}
    ) as feature_specs (feature_name, feature_kind, method_override, threshold_override)
),
{%- set sorted_candidates = [] %}
{%- if sorted_numeric %}
    {%- for feature in features %}
        {%- if feature.kind == 'numeric' and (feature.get('method') or 'auto') in ['auto', 'ks', 'wasserstein'] %}
            {%- do sorted_candidates.append(loop.index) %}
        {%- endif %}
    {%- endfor %}
{%- endif %}
{%- if sorted_candidates %}

{# ---- DuckDB: numeric features that look continuous, sorted instead of counted per value ---- #}
sorted_sample as (
    select
        {%- for feature in features %}
            {%- if loop.index in sorted_candidates %}
                {%- set finite = 'isfinite(cast(first_rows.' ~ adapter.quote(feature.name) ~ ' as double))' %}
                count(distinct case when {{ finite }} then cast(first_rows.{{ adapter.quote(feature.name) }} as double) end)
                as distinct_{{ loop.index }},
                count(case when {{ finite }} then 1 end) as rows_{{ loop.index }},
            {%- endif %}
        {%- endfor %}
    from (select * from {{ reference }} limit 10000) as first_rows
),

sorted_features as (
    {%- for index in sorted_candidates %}
        select {{ index }} as feature_index
        from sorted_sample
        where sorted_sample.distinct_{{ index }} > 20 and sorted_sample.distinct_{{ index }} * 2 > sorted_sample.rows_{{ index }}
        {%- if not loop.last %}
            union all
        {%- endif %}
    {%- endfor %}
),

{# One sort per feature (a window partitioned by feature sorted much slower than one per
   feature). The last row of each run of equal values in the sorted order carries the two
   distribution functions' counts, ties included: the running count of reference rows and the
   row number; the next value gives the width of the step. #}
sorted_summary as (
    {%- for feature in features %}
        {%- if loop.index in sorted_candidates %}
            {%- set column = adapter.quote(feature.name) %}
            {%- set index = loop.index %}
            {%- set sided %}
                {%- for side, relation in [("true", reference), ("false", current)] %}
                    select
                        cast({{ column }} as double) as num_value,
                        {{ side }} as is_reference
                    from {{ relation }}
                    where
                        isfinite(cast({{ column }} as double))
                        and (select count(*) from sorted_features where sorted_features.feature_index = {{ index }}) > 0
                    {%- if loop.first %}
                        union all
                    {%- endif %}
                {%- endfor %}
            {%- endset %}
            {%- set reference_cdf = 'ranked.reference_le / totals.reference_count' %}
            {%- set current_cdf = '(ranked.all_le - ranked.reference_le) / totals.current_count' %}
            select
                '{{ feature.name }}' as feature_name,
                max(totals.reference_count) as reference_count,
                max(totals.current_count) as current_count,
                max(totals.std_pop) as std_pop,
                count(*) as distinct_count,
                max(abs({{ reference_cdf }} - {{ current_cdf }})) as largest_gap,
                sum(
                    abs({{ reference_cdf }} - {{ current_cdf }})
                    * coalesce(ranked.next_value - ranked.num_value, 0)
                ) as area
            from (
                select
                    sided.num_value,
                    lead(sided.num_value) over ordered as next_value,
                    cast(count_if(sided.is_reference) over ordered as double) as reference_le,
                    cast(row_number() over ordered as double) as all_le
                from ({{ sided }}) as sided
                window ordered as (order by sided.num_value rows between unbounded preceding and current row)
            ) as ranked
            cross join (
                select
                    count_if(sided.is_reference) as reference_count,
                    count_if(not sided.is_reference) as current_count,
                    stddev_pop(sided.num_value) filter (where sided.is_reference) as std_pop
                from ({{ sided }}) as sided
            ) as totals
            where ranked.next_value is distinct from ranked.num_value
            having count(*) > 0
            {%- if index != sorted_candidates[-1] %}
                union all
            {%- endif %}
        {%- endif %}
    {%- endfor %}
),
{%- endif %}

{# Every feature of both sides in long form (one row per feature, side and input row, the
   value as a double for numeric features, as text for categorical ones), counted per distinct
   typed value by one aggregate: reference and current side by side. A union of plain selects
   is one scan stage on Spark, where an aggregate per feature and side was a shuffle stage each.
   Every method below reads this table, never the input relations again. #}
value_counts as {{ trainset.drift_materialized() }} (
    {%- if shared %}
    select * from {{ shared.value_counts }}
    {%- else %}
    select
        long_values.feature_name,
        long_values.feature_index,
        long_values.num_value,
        long_values.cat_value,
        cast(sum(case when long_values.side = 'reference' then 1 else 0 end) as bigint) as reference_hits,
        cast(sum(case when long_values.side = 'current' then 1 else 0 end) as bigint) as current_hits
    from (
        {%- for feature in features %}
            {%- set column = adapter.quote(feature.name) %}
            {%- set feature_loop = loop %}
            {%- for side, relation in [('reference', reference), ('current', current)] %}
                select
                    '{{ feature.name }}' as feature_name,
                    {{ feature_loop.index }} as feature_index,
                    '{{ side }}' as side,
                    {%- if feature.kind == 'numeric' %}
                        cast({{ column }} as {{ double }}) as num_value,
                        cast(null as {{ dbt.type_string() }}) as cat_value
                    {%- else %}
                        cast(null as {{ double }}) as num_value,
                        cast({{ column }} as {{ dbt.type_string() }}) as cat_value
                    {%- endif %}
                from {{ relation }}
                where
                    {{ column }} is not null
                    {%- if feature.kind == 'numeric' %}
                        and cast({{ column }} as {{ double }})
                        not in (
                            cast('infinity' as {{ double }}),
                            cast('-infinity' as {{ double }}),
                            cast('nan' as {{ double }})
                        )
                    {%- endif %}
                    {%- if feature_loop.index in sorted_candidates %}
                        and (select count(*) from sorted_features where sorted_features.feature_index = {{ feature_loop.index }}) = 0
                    {%- endif %}
                {%- if not (feature_loop.last and loop.last) %}
                    union all
                {%- endif %}
            {%- endfor %}
        {%- endfor %}
    ) as long_values
    group by long_values.feature_name, long_values.feature_index, long_values.num_value, long_values.cat_value
    {%- endif %}
),

numbers as (
    {{ trainset.drift_numbers(10001) }}
),

sizes as (
    select
        specs.feature_name,
        specs.feature_kind,
        specs.method_override,
        specs.threshold_override,
        {%- if sorted_candidates %}
            coalesce(sum(value_counts.reference_hits), max(sorted_summary.reference_count), 0) as reference_count,
            coalesce(sum(value_counts.current_hits), max(sorted_summary.current_count), 0) as current_count,
            count(value_counts.feature_name) + coalesce(max(sorted_summary.distinct_count), 0) as distinct_count
        {%- else %}
            coalesce(sum(value_counts.reference_hits), 0) as reference_count,
            coalesce(sum(value_counts.current_hits), 0) as current_count,
            count(value_counts.feature_name) as distinct_count
        {%- endif %}
    from specs
    left join value_counts on specs.feature_name = value_counts.feature_name
    {%- if sorted_candidates %}
        left join sorted_summary on specs.feature_name = sorted_summary.feature_name
    {%- endif %}
    group by specs.feature_name, specs.feature_kind, specs.method_override, specs.threshold_override
),

chosen as (
    {%- if shared and shared.chosen %}
    select * from {{ shared.chosen }}
    {%- else %}
    select
        sizes.*,
        case
            when sizes.reference_count = 0 or sizes.current_count = 0 then 'none'
            when sizes.method_override != 'auto' then sizes.method_override
            when sizes.reference_count <= 1000
                then case
                    when sizes.feature_kind = 'numeric' and sizes.distinct_count > 5 then 'ks'
                    when sizes.distinct_count > 2 then 'chisquare'
                    else 'z'
                end
            when sizes.feature_kind = 'numeric' and sizes.distinct_count > 5 then 'wasserstein'
            else 'jensenshannon'
        end as method
    from sizes
    {%- endif %}
),

{# ---- Kolmogorov-Smirnov and Wasserstein: the two empirical distribution functions ---- #}
ecdf as (
    select
        value_counts.feature_name,
        value_counts.num_value,
        (sum(cast(value_counts.reference_hits as {{ double }})) over cumulative)
        / chosen.reference_count as reference_cdf,
        (sum(cast(value_counts.current_hits as {{ double }})) over cumulative)
        / chosen.current_count as current_cdf,
        (lead(value_counts.num_value) over ordered) - value_counts.num_value as step_width
    from value_counts
    inner join chosen on value_counts.feature_name = chosen.feature_name
    where chosen.method in ('ks', 'wasserstein')
    window
        cumulative as (
            partition by value_counts.feature_index order by value_counts.num_value
            rows between unbounded preceding and current row
        ),
        {#- lead takes no frame on Spark #}
        ordered as (partition by value_counts.feature_index order by value_counts.num_value)
),

{# One aggregate over the sorted pass serves both: the largest gap between the two functions
   (KS) and the area between them (Wasserstein). #}
ecdf_gaps as (
    select
        ecdf.feature_name,
        max(abs(ecdf.reference_cdf - ecdf.current_cdf)) as largest_gap,
        sum(abs(ecdf.reference_cdf - ecdf.current_cdf) * coalesce(ecdf.step_width, 0)) as area
    from ecdf
    group by ecdf.feature_name
    {%- if sorted_candidates %}
        union all
        select
            sorted_summary.feature_name,
            sorted_summary.largest_gap,
            sorted_summary.area
        from sorted_summary
    {%- endif %}
),

ks_statistic as (
    select
        chosen.feature_name,
        least(chosen.reference_count, chosen.current_count) as m,
        greatest(chosen.reference_count, chosen.current_count) as n,
        {{ trainset.drift_gcd('chosen.reference_count', 'chosen.current_count') }} as g,
        ecdf_gaps.largest_gap as d
    from chosen
    inner join ecdf_gaps on chosen.feature_name = ecdf_gaps.feature_name
    where chosen.method = 'ks'
),

ks_rounded as (
    select
        ks_statistic.*,
        round(ks_statistic.d * (ks_statistic.m / ks_statistic.g) * ks_statistic.n) as h,
        (ks_statistic.m / ks_statistic.g) * ks_statistic.n as lcm,
        cast(ks_statistic.n as {{ double }}) * ks_statistic.m / (ks_statistic.m + ks_statistic.n) as en
    from ks_statistic
),

{%- if exact_size > 0 %}

ks_exact as (
    select
        ks_rounded.feature_name,
        ks_rounded.m,
        ks_rounded.n,
        cast(ks_rounded.h as bigint) * ks_rounded.g as hg
    from ks_rounded
    where ks_rounded.n <= {{ exact_size }} and ks_rounded.h > 0
),

ks_offsets as (
    select
        0 as top_key,
        0 as i
    union all
    select
        1 as top_key,
        numbers.i
    from numbers
    where numbers.i <= (select coalesce(max(ks_exact.n * 1.0 / ks_exact.m), 0) + 2 from ks_exact)
),

ks_lattice (feature_name, m, n, hg, x, y, a, log_scale) as (
    select
        ks_exact.feature_name,
        ks_exact.m,
        ks_exact.n,
        ks_exact.hg,
        0 as x,
        numbers.i as y,
        cast(1 as {{ double }}) as a,
        cast(0 as {{ double }}) as log_scale
    from ks_exact
    inner join numbers on numbers.i <= ks_exact.n and ks_exact.m * numbers.i < ks_exact.hg
    union all
    select
        stepped.feature_name,
        stepped.m,
        stepped.n,
        stepped.hg,
        stepped.x,
        stepped.y,
        stepped.running / stepped.total as a,
        stepped.log_scale + ln(stepped.total) as log_scale
    from (
        select
            extended.*,
            sum(extended.old_a) over (
                partition by extended.feature_name order by extended.y
                rows between unbounded preceding and current row
            ) as running,
            sum(extended.old_a) over (partition by extended.feature_name) as total
        from (
            select
                previous.feature_name,
                previous.m,
                previous.n,
                previous.hg,
                previous.x + 1 as x,
                previous.y + ks_offsets.i as y,
                case when ks_offsets.i = 0 then previous.a else 0 end as old_a,
                previous.log_scale
            from (
                select
                    ks_lattice.*,
                    max(ks_lattice.y) over (partition by ks_lattice.feature_name) as top_y
                from ks_lattice
                where ks_lattice.x < ks_lattice.m
            ) as previous
            inner join ks_offsets
                on
                    ks_offsets.top_key = case when previous.y = previous.top_y then 1 else 0 end
                    and ks_offsets.i <= previous.n * 1.0 / previous.m + 2
            where
                previous.y + ks_offsets.i <= previous.n
                and abs(previous.n * (previous.x + 1) - previous.m * (previous.y + ks_offsets.i)) < previous.hg
        ) as extended
    ) as stepped
    where stepped.total > 0
),

ks_paths as (
    select
        ks_exact.feature_name,
        sum(ln(ks_exact.n + numbers.i) - ln(numbers.i)) as log_all_paths
    from ks_exact
    inner join numbers on numbers.i between 1 and ks_exact.m
    group by ks_exact.feature_name
),

ks_inside as (
    select
        ks_lattice.feature_name,
        exp(greatest(ln(ks_lattice.a) + ks_lattice.log_scale - ks_paths.log_all_paths, -700)) as share_inside
    from ks_lattice
    inner join ks_paths on ks_lattice.feature_name = ks_paths.feature_name
    where ks_lattice.x = ks_lattice.m and ks_lattice.y = ks_lattice.n and ks_lattice.a > 0
),

{%- else %}

{# no exact p-values on this engine: every Kolmogorov-Smirnov test is asymptotic #}
ks_inside as (
    select
        ks_rounded.feature_name,
        cast(null as {{ double }}) as share_inside
    from ks_rounded
    where false
),
{%- endif %}

{# Above the exact size (10000 values on a side): the one-sample Kolmogorov-Smirnov distribution of
   N = m n / (m + n) (rounded half to even) at D, branch by branch as the common reference
   implementation evaluates it (Simard and L'Ecuyer): closed forms at the ends (Ruben-Gambino),
   2 x the one-sided Smirnov tail (Birnbaum-Tingey sum) for large N D^2, the Pelz-Good series
   in between. Where it uses the Durbin matrix or Pomeranz recursions (N <= 140 with
   N D^2 <= 4, or small N D^1.5), the Kolmogorov limit stands in (`p_value_method` says so). #}
ks_asymptotic as (
    select
        ks_shape.*,
        ks_shape.big_n * ks_shape.x as t,
        ks_shape.big_n * ks_shape.x * ks_shape.x as nxx,
        sqrt(ks_shape.big_n) * ks_shape.x as z
    from (
        select
            ks_rounded.feature_name,
            ks_rounded.d as x,
            case
                when ks_rounded.en - floor(ks_rounded.en) = 0.5
                    then floor(ks_rounded.en) + mod(cast(floor(ks_rounded.en) as bigint), 2)
                else round(ks_rounded.en)
            end as big_n
        from ks_rounded
        where ks_rounded.n > {{ exact_size }}
    ) as ks_shape
),

ks_branches as (
    select
        ks_asymptotic.*,
        case
            when ks_asymptotic.x >= 1 then 'zero'
            when ks_asymptotic.x <= 0 or ks_asymptotic.t <= 0.5 then 'one'
            when ks_asymptotic.t <= 1 then 'ruben_gambino_low'
            when ks_asymptotic.t >= ks_asymptotic.big_n - 1 then 'ruben_gambino_high'
            when ks_asymptotic.x >= 0.5 then 'smirnov'
            when ks_asymptotic.big_n <= 140 and ks_asymptotic.nxx > 4 then 'smirnov'
            when ks_asymptotic.big_n <= 140 then 'limit'
            when ks_asymptotic.nxx >= 370 then 'zero'
            when ks_asymptotic.nxx >= 2.2 then 'smirnov'
            when ks_asymptotic.big_n <= 100000 and ks_asymptotic.big_n * power(ks_asymptotic.x, 1.5) <= 1.4 then 'limit'
            else 'pelz_good'
        end as branch
    from ks_asymptotic
),

{# ln(N! / N^N) for the lower Ruben-Gambino end, and ln C(N, v) for the Smirnov sum #}
ks_log_binomials as (
    select
        ks_branches.feature_name,
        numbers.i as v,
        sum(
            case when numbers.i = 0 then 0 else ln(ks_branches.big_n - numbers.i + 1) - ln(numbers.i) end
        ) over (
            partition by ks_branches.feature_name order by numbers.i
            rows between unbounded preceding and current row
        ) as log_binomial
    from ks_branches
    inner join numbers on numbers.i <= ks_branches.big_n
    where ks_branches.branch in ('smirnov', 'ruben_gambino_low')
),

ks_smirnov as (
    select
        ks_branches.feature_name,
        2 * ks_branches.x * sum(
            case
                when 1 - (ks_branches.x + ks_log_binomials.v * 1.0 / ks_branches.big_n) <= 0 then 0
                else exp(greatest(
                    ks_log_binomials.log_binomial
                    + (ks_log_binomials.v - 1) * ln(ks_branches.x + ks_log_binomials.v * 1.0 / ks_branches.big_n)
                    + (ks_branches.big_n - ks_log_binomials.v)
                    * ln(1 - (ks_branches.x + ks_log_binomials.v * 1.0 / ks_branches.big_n)),
                    -700
                ))
            end
        ) as p_value
    from ks_branches
    inner join ks_log_binomials on ks_branches.feature_name = ks_log_binomials.feature_name
    where
        ks_branches.branch = 'smirnov'
        and ks_log_binomials.v <= floor(ks_branches.big_n * (1 - ks_branches.x))
    group by ks_branches.feature_name, ks_branches.x
),

ks_ruben_gambino as (
    select
        ks_branches.feature_name,
        1 - exp(greatest(
            sum(ln(numbers.i * 1.0 / ks_branches.big_n)) + ks_branches.big_n * ln(2 * ks_branches.t - 1), -700
        )) as p_value
    from ks_branches
    inner join numbers on numbers.i between 1 and ks_branches.big_n
    where ks_branches.branch = 'ruben_gambino_low'
    group by ks_branches.feature_name, ks_branches.big_n, ks_branches.t
),

ks_pelz_good_terms as (
    select
        ks_branches.feature_name,
        ks_branches.big_n,
        ks_branches.z,
        sum(exp(greatest(-pi() * pi() / (8 * ks_branches.z * ks_branches.z) * power(2 * numbers.i - 1, 2), -700)))
        as s0,
        sum(
            (-ks_branches.z * ks_branches.z + pi() * pi() / 4 * power(2 * numbers.i - 1, 2))
            * exp(greatest(-pi() * pi() / (8 * ks_branches.z * ks_branches.z) * power(2 * numbers.i - 1, 2), -700))
        ) as s1,
        sum(
            (
                6 * power(ks_branches.z, 6) + 2 * power(ks_branches.z, 4)
                + (2 * power(ks_branches.z, 4) - 5 * ks_branches.z * ks_branches.z) * pi() * pi() / 4
                * power(2 * numbers.i - 1, 2)
                + power(pi(), 4) * (1 - 2 * ks_branches.z * ks_branches.z) / 16 * power(2 * numbers.i - 1, 4)
            )
            * exp(greatest(-pi() * pi() / (8 * ks_branches.z * ks_branches.z) * power(2 * numbers.i - 1, 2), -700))
        ) as s2,
        sum(
            (
                -30 * power(ks_branches.z, 6) - 90 * power(ks_branches.z, 8)
                + pi() * pi() * (135 * power(ks_branches.z, 4) - 96 * power(ks_branches.z, 6)) / 4
                * power(2 * numbers.i - 1, 2)
                + power(pi(), 4) * (-60 * ks_branches.z * ks_branches.z + 212 * power(ks_branches.z, 4)) / 16
                * power(2 * numbers.i - 1, 4)
                + power(pi(), 6) * (5 - 30 * ks_branches.z * ks_branches.z) / 64 * power(2 * numbers.i - 1, 6)
            )
            * exp(greatest(-pi() * pi() / (8 * ks_branches.z * ks_branches.z) * power(2 * numbers.i - 1, 2), -700))
        ) as s3,
        sum(
            numbers.i * numbers.i
            * exp(greatest(-pi() * pi() / (2 * ks_branches.z * ks_branches.z) * numbers.i * numbers.i, -700))
        ) as e2,
        sum(
            (3 * ks_branches.z * ks_branches.z - pi() * pi() * numbers.i * numbers.i) * numbers.i * numbers.i
            * exp(greatest(-pi() * pi() / (2 * ks_branches.z * ks_branches.z) * numbers.i * numbers.i, -700))
        ) as e3
    from ks_branches
    inner join numbers on numbers.i between 1 and ceil(16 * ks_branches.z / pi())
    where ks_branches.branch = 'pelz_good' and -pi() * pi() / (8 * ks_branches.z * ks_branches.z) >= -708
    group by ks_branches.feature_name, ks_branches.big_n, ks_branches.z
),

ks_pelz_good as (
    select
        ks_pelz_good_terms.feature_name,
        1 - (
            sqrt(2 * pi()) / ks_pelz_good_terms.z * ks_pelz_good_terms.s0
            + sqrt(2 * pi()) / (6 * power(ks_pelz_good_terms.z, 4)) * ks_pelz_good_terms.s1
            / sqrt(ks_pelz_good_terms.big_n)
            + (
                sqrt(2 * pi()) / (72 * power(ks_pelz_good_terms.z, 7)) * ks_pelz_good_terms.s2
                + pi() * pi() * sqrt(2 * pi()) / (-36 * power(ks_pelz_good_terms.z, 3)) * ks_pelz_good_terms.e2
            ) / ks_pelz_good_terms.big_n
            + (
                sqrt(2 * pi()) / (6480 * power(ks_pelz_good_terms.z, 10)) * ks_pelz_good_terms.s3
                + pi() * pi() * sqrt(2 * pi()) / (216 * power(ks_pelz_good_terms.z, 6)) * ks_pelz_good_terms.e3
            ) / power(ks_pelz_good_terms.big_n, 1.5)
        ) as p_value
    from ks_pelz_good_terms
),

ks_limit_terms as (
    select
        ks_branches.feature_name,
        sum(
            case when numbers.i % 2 = 1 then 2 else -2 end
            * exp(greatest(-2 * numbers.i * numbers.i * ks_branches.nxx, -700))
        ) as p_value
    from ks_branches
    inner join numbers on numbers.i between 1 and 100
    where ks_branches.branch = 'limit'
    group by ks_branches.feature_name
),

ks_asymptotic_p as (
    select
        ks_branches.feature_name,
        ks_branches.branch,
        least(greatest(
            case ks_branches.branch
                when 'zero' then 0
                when 'one' then 1
                when 'ruben_gambino_low' then ks_ruben_gambino.p_value
                when 'ruben_gambino_high' then 2 * exp(greatest(ks_branches.big_n * ln(1 - ks_branches.x), -700))
                when 'smirnov' then ks_smirnov.p_value
                when 'pelz_good' then coalesce(ks_pelz_good.p_value, 1)
                when 'limit' then ks_limit_terms.p_value
            end, 0
        ), 1) as p_value
    from ks_branches
    left join ks_ruben_gambino on ks_branches.feature_name = ks_ruben_gambino.feature_name
    left join ks_smirnov on ks_branches.feature_name = ks_smirnov.feature_name
    left join ks_pelz_good on ks_branches.feature_name = ks_pelz_good.feature_name
    left join ks_limit_terms on ks_branches.feature_name = ks_limit_terms.feature_name
),

ks_result as (
    select
        ks_rounded.feature_name,
        case when ks_rounded.n <= {{ exact_size }} then ks_rounded.h / ks_rounded.lcm else ks_rounded.d end as statistic,
        case
            when ks_rounded.n > {{ exact_size }} then ks_asymptotic_p.p_value
            when ks_rounded.h = 0 then 1
            else least(greatest(1 - coalesce(ks_inside.share_inside, 0), 0), 1)
        end as p_value,
        case
            when ks_rounded.n <= {{ exact_size }} then 'exact'
            when ks_asymptotic_p.branch = 'limit' then 'kolmogorov limit'
            else 'asymptotic'
        end as p_value_method
    from ks_rounded
    left join ks_inside on ks_rounded.feature_name = ks_inside.feature_name
    left join ks_asymptotic_p on ks_rounded.feature_name = ks_asymptotic_p.feature_name
),

wasserstein_result as (
    select
        chosen.feature_name,
        ecdf_gaps.area as distance
    from chosen
    inner join ecdf_gaps on chosen.feature_name = ecdf_gaps.feature_name
    where chosen.method = 'wasserstein'
),

reference_mean as (
    select
        value_counts.feature_name,
        sum(value_counts.num_value * value_counts.reference_hits) / max(chosen.reference_count) as mean_value
    from value_counts
    inner join chosen on value_counts.feature_name = chosen.feature_name
    where chosen.method = 'wasserstein' and value_counts.reference_hits > 0
    group by value_counts.feature_name
),

reference_spread as (
    select
        value_counts.feature_name,
        sqrt(
            sum(value_counts.reference_hits * power(value_counts.num_value - reference_mean.mean_value, 2))
            / sum(value_counts.reference_hits)
        ) as std_pop
    from value_counts
    inner join reference_mean on value_counts.feature_name = reference_mean.feature_name
    where value_counts.reference_hits > 0
    group by value_counts.feature_name
    {%- if sorted_candidates %}
        union all
        select
            sorted_summary.feature_name,
            sorted_summary.std_pop
        from sorted_summary
    {%- endif %}
),

{# ---- Chi-squared, Z-test, Jensen-Shannon and PSI: shares of each value (or histogram bin) ---- #}
categorical_counts as (
    select
        value_counts.feature_name,
        value_counts.num_value,
        value_counts.cat_value,
        value_counts.reference_hits,
        value_counts.current_hits,
        chosen.reference_count,
        chosen.current_count
    from value_counts
    inner join chosen on value_counts.feature_name = chosen.feature_name
    where chosen.method in ('chisquare', 'z', 'jensenshannon', 'psi')
),

reference_distinct as (
    select
        categorical_counts.feature_name,
        sum(case when categorical_counts.reference_hits > 0 then 1 else 0 end) as reference_distinct,
        min(categorical_counts.num_value) as low,
        max(categorical_counts.num_value) as high,
        sum(categorical_counts.reference_hits + categorical_counts.current_hits) as pooled
    from categorical_counts
    group by categorical_counts.feature_name
),

{# Numeric with more than 20 reference values under jensenshannon or psi: Sturges histogram
   of both sides pooled, equal-width bins from the pooled min to max, the last bin closed. #}
histogram_shape as (
    select
        reference_distinct.feature_name,
        case when reference_distinct.high = reference_distinct.low then reference_distinct.low - 0.5
            else reference_distinct.low end as low,
        case when reference_distinct.high = reference_distinct.low then reference_distinct.high + 0.5
            else reference_distinct.high end as high,
        case
            when reference_distinct.high = reference_distinct.low then 1
            else cast(ceil(
                (reference_distinct.high - reference_distinct.low)
                / (
                    (reference_distinct.high - reference_distinct.low)
                    / ({{ trainset.drift_log2('reference_distinct.pooled') }} + 1.0)
                )
            ) as integer)
        end as bins
    from reference_distinct
    inner join chosen on reference_distinct.feature_name = chosen.feature_name
    where
        chosen.feature_kind = 'numeric'
        and chosen.method in ('jensenshannon', 'psi')
        and reference_distinct.reference_distinct > 20
),

{# The bin of each value by arithmetic: a first guess from the width, then moved by one where
   rounding put it on the wrong side of an edge (edge i = low + i * width, as the bins are
   drawn), so a value on an edge opens the bin above it. #}
bin_guesses as (
    select
        categorical_counts.*,
        histogram_shape.low,
        histogram_shape.bins,
        (histogram_shape.high - histogram_shape.low) / histogram_shape.bins as width,
        least(greatest(
            cast(floor(
                (categorical_counts.num_value - histogram_shape.low)
                / ((histogram_shape.high - histogram_shape.low) / histogram_shape.bins)
            ) as integer), 0
        ), histogram_shape.bins - 1) as guess
    from categorical_counts
    inner join histogram_shape on categorical_counts.feature_name = histogram_shape.feature_name
),

binned as (
    select
        bin_guesses.feature_name,
        cast(
            case
                when bin_guesses.num_value < bin_guesses.guess * bin_guesses.width + bin_guesses.low
                    then bin_guesses.guess - 1
                when
                    bin_guesses.guess < bin_guesses.bins - 1
                    and bin_guesses.num_value >= (bin_guesses.guess + 1) * bin_guesses.width + bin_guesses.low
                    then bin_guesses.guess + 1
                else bin_guesses.guess
            end as {{ double }}
        ) as num_value,
        cast(null as {{ dbt.type_string() }}) as cat_value,
        bin_guesses.reference_hits,
        bin_guesses.current_hits,
        bin_guesses.reference_count,
        bin_guesses.current_count
    from bin_guesses
    union all
    select
        categorical_counts.feature_name,
        categorical_counts.num_value,
        categorical_counts.cat_value,
        categorical_counts.reference_hits,
        categorical_counts.current_hits,
        categorical_counts.reference_count,
        categorical_counts.current_count
    from categorical_counts
    where categorical_counts.feature_name not in (select histogram_shape.feature_name from histogram_shape)
),

shares as (
    select
        binned.feature_name,
        binned.num_value,
        binned.cat_value,
        sum(binned.reference_hits) as reference_hits,
        sum(binned.current_hits) as current_hits,
        cast(sum(binned.reference_hits) as {{ double }}) / max(binned.reference_count) as reference_share,
        cast(sum(binned.current_hits) as {{ double }}) / max(binned.current_count) as current_share,
        max(binned.reference_count) as reference_count,
        max(binned.current_count) as current_count
    from binned
    group by binned.feature_name, binned.num_value, binned.cat_value
),

chisquare_result as (
    select
        shares.feature_name,
        count(*) - 1 as degrees_of_freedom,
        case
            when max(case when shares.reference_hits = 0 then 1 else 0 end) = 1 then null
            else sum(
                power(shares.current_hits - shares.reference_hits * (cast(shares.current_count as {{ double }}) / shares.reference_count), 2)
                / (nullif(shares.reference_hits, 0) * (cast(shares.current_count as {{ double }}) / shares.reference_count))
            )
        end as statistic
    from shares
    inner join chosen on shares.feature_name = chosen.feature_name
    where chosen.method = 'chisquare'
    group by shares.feature_name
),

chisquare_terms as (
    select
        chisquare_result.feature_name,
        numbers.i as term,
        chisquare_result.statistic / 2 as t,
        chisquare_result.degrees_of_freedom % 2 as odd,
        sum(
            case
                when numbers.i = 0 then 0
                when chisquare_result.degrees_of_freedom % 2 = 0 then ln(numbers.i)
                else ln(numbers.i + 0.5)
            end
        ) over (
            partition by chisquare_result.feature_name order by numbers.i
            rows between unbounded preceding and current row
        ) as log_factor
    from chisquare_result
    inner join numbers
        on numbers.i < floor(chisquare_result.degrees_of_freedom / 2.0)
    where chisquare_result.statistic > 0
),

chisquare_series as (
    select
        chisquare_terms.feature_name,
        max(chisquare_terms.t) as t,
        max(chisquare_terms.odd) as odd,
        sum(
            case
                when chisquare_terms.odd = 0
                    then exp(greatest(
                        chisquare_terms.term * ln(chisquare_terms.t) - chisquare_terms.log_factor - chisquare_terms.t,
                        -700
                    ))
                else exp(greatest(
                    (chisquare_terms.term + 0.5) * ln(chisquare_terms.t) - chisquare_terms.t
                    - (ln(sqrt(pi()) / 2) + chisquare_terms.log_factor),
                    -700
                ))
            end
        ) as tail
    from chisquare_terms
    group by chisquare_terms.feature_name
),

chisquare_root as (
    select
        chisquare_result.feature_name,
        chisquare_result.degrees_of_freedom,
        chisquare_result.statistic,
        coalesce(chisquare_series.tail, 0) as tail,
        sqrt(chisquare_result.statistic / 2) as root
    from chisquare_result
    left join chisquare_series on chisquare_result.feature_name = chisquare_series.feature_name
),

chisquare_p as (
    select
        chisquare_root.feature_name,
        coalesce(chisquare_root.statistic, cast('infinity' as {{ double }})) as statistic,
        case
            when chisquare_root.statistic is null then 0
            when chisquare_root.degrees_of_freedom = 0 then null
            when chisquare_root.statistic = 0 then 1
            when chisquare_root.degrees_of_freedom % 2 = 0 then least(chisquare_root.tail, 1)
            else least({{ trainset.drift_erfc('chisquare_root.root') }} + chisquare_root.tail, 1)
        end as p_value
    from chisquare_root
),

z_ranked as (
    select
        shares.*,
        {# the first value in sort order is the "success"; with two values the choice is symmetric #}
        row_number() over (
            partition by shares.feature_name order by shares.num_value, shares.cat_value
        ) as position,
        count(*) over (partition by shares.feature_name) as keys
    from shares
    inner join chosen on shares.feature_name = chosen.feature_name
    where chosen.method = 'z'
),

z_statistic as (
    select
        z_ranked.feature_name,
        max(z_ranked.keys) as keys,
        cast(sum(case when z_ranked.position > 1 then z_ranked.reference_hits else 0 end) as {{ double }})
        / max(z_ranked.reference_count) as p1,
        cast(sum(case when z_ranked.position > 1 then z_ranked.current_hits else 0 end) as {{ double }})
        / max(z_ranked.current_count) as p2,
        max(z_ranked.reference_count) as n1,
        max(z_ranked.current_count) as n2
    from z_ranked
    group by z_ranked.feature_name
),

z_score as (
    select
        z_statistic.*,
        (z_statistic.p1 * z_statistic.n1 + z_statistic.p2 * z_statistic.n2) / (z_statistic.n1 + z_statistic.n2) as pooled
    from z_statistic
),

z_root as (
    select
        z_score.feature_name,
        z_score.keys,
        case
            when z_score.pooled <= 0 or z_score.pooled >= 1 then null
            else (z_score.p1 - z_score.p2)
            / sqrt(z_score.pooled * (1 - z_score.pooled) * (cast(1 as {{ double }}) / z_score.n1 + cast(1 as {{ double }}) / z_score.n2))
        end as statistic
    from z_score
),

z_scaled as (
    select
        z_root.*,
        abs(z_root.statistic) / sqrt(2) as root
    from z_root
),

z_p as (
    select
        z_scaled.feature_name,
        z_scaled.statistic,
        case
            when z_scaled.keys = 1 then 1
            when z_scaled.statistic is null then null
            else {{ trainset.drift_erfc('z_scaled.root') }}
        end as p_value
    from z_scaled
),

jensenshannon_result as (
    select
        shares.feature_name,
        sqrt(greatest(sum(
            case when shares.reference_share > 0
                then shares.reference_share * ln(shares.reference_share / ((shares.reference_share + shares.current_share) / 2))
                else 0 end
            + case when shares.current_share > 0
                then shares.current_share * ln(shares.current_share / ((shares.reference_share + shares.current_share) / 2))
                else 0 end
        ) / 2, 0)) as distance
    from shares
    inner join chosen on shares.feature_name = chosen.feature_name
    where chosen.method = 'jensenshannon'
    group by shares.feature_name
),

{# PSI: empty bins take a small share (a millionth of the side's smallest share when that is
   at most 1e-4, else 1e-4) so the logarithm stays finite. #}
psi_floor as (
    select
        shares.feature_name,
        case when min(case when shares.reference_share > 0 then shares.reference_share end) <= 0.0001
            then min(case when shares.reference_share > 0 then shares.reference_share end) / 1000000
            else 0.0001 end as reference_floor,
        case when min(case when shares.current_share > 0 then shares.current_share end) <= 0.0001
            then min(case when shares.current_share > 0 then shares.current_share end) / 1000000
            else 0.0001 end as current_floor
    from shares
    inner join chosen on shares.feature_name = chosen.feature_name
    where chosen.method = 'psi'
    group by shares.feature_name
),

psi_result as (
    select
        shares.feature_name,
        sum(
            (
                case when shares.reference_share = 0 then psi_floor.reference_floor else shares.reference_share end
                - case when shares.current_share = 0 then psi_floor.current_floor else shares.current_share end
            )
            * ln(
                case when shares.reference_share = 0 then psi_floor.reference_floor else shares.reference_share end
                / case when shares.current_share = 0 then psi_floor.current_floor else shares.current_share end
            )
        ) as distance
    from shares
    inner join psi_floor on shares.feature_name = psi_floor.feature_name
    group by shares.feature_name
),

{# ---- one row per feature ---- #}
scored as (
    select
        chosen.feature_name,
        chosen.feature_kind,
        chosen.method,
        chosen.reference_count,
        chosen.current_count,
        chosen.distinct_count,
        case chosen.method
            when 'ks' then ks_result.statistic
            when 'chisquare' then chisquare_p.statistic
            when 'z' then z_p.statistic
            when 'wasserstein' then wasserstein_result.distance / greatest(reference_spread.std_pop, 0.001)
            when 'jensenshannon' then jensenshannon_result.distance
            when 'psi' then psi_result.distance
        end as statistic,
        case chosen.method
            when 'ks' then ks_result.p_value
            when 'chisquare' then chisquare_p.p_value
            when 'z' then z_p.p_value
        end as p_value,
        case chosen.method when 'ks' then ks_result.p_value_method end as p_value_method,
        coalesce(
            chosen.threshold_override,
            case chosen.method
                {%- for method, spec in methods.items() %}
                    when '{{ method }}' then {{ spec.threshold }}
                {%- endfor %}
            end
        ) as threshold
    from chosen
    left join ks_result on chosen.feature_name = ks_result.feature_name
    left join wasserstein_result on chosen.feature_name = wasserstein_result.feature_name
    left join reference_spread on chosen.feature_name = reference_spread.feature_name
    left join chisquare_p on chosen.feature_name = chisquare_p.feature_name
    left join z_p on chosen.feature_name = z_p.feature_name
    left join jensenshannon_result on chosen.feature_name = jensenshannon_result.feature_name
    left join psi_result on chosen.feature_name = psi_result.feature_name
),

verdicts as (
    select
        scored.feature_name,
        scored.feature_kind,
        scored.method,
        scored.statistic,
        scored.p_value,
        scored.p_value_method,
        case
            {%- for method, spec in methods.items() %}
                when scored.method = '{{ method }}'
                    then {{ 'scored.p_value' if spec.kind == 'p_value' else 'scored.statistic' }}
            {%- endfor %}
        end as score,
        scored.threshold,
        coalesce(case
            {%- for method, spec in methods.items() %}
                when scored.method = '{{ method }}' then
                    {%- if spec.kind == 'p_value' %}
                        scored.p_value {{ '<=' if spec.inclusive else '<' }} scored.threshold
                    {%- else %}
                        scored.statistic {{ '>=' if spec.inclusive else '>' }} scored.threshold
                    {%- endif %}
            {%- endfor %}
        end, false) as is_drifted,
        scored.reference_count,
        scored.current_count,
        scored.distinct_count
    from scored
)

select * from {{ output }}
{%- endmacro %}
