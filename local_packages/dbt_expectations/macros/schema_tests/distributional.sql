{#
    Distribution and time-series expectations: outliers against the mean, anomalies against a
    moving window, and gaps in a date series.
#}

{#
    With group_by: the sum of `column_name` per group, scored against the mean and sample
    standard deviation of all group sums (the original's behaviour). Without group_by: each
    row's value against the column's mean and standard deviation. Fails where |z| exceeds
    `sigma_threshold`. A zero or null deviation (one value, all equal) passes.
#}
{% test expect_column_values_to_be_within_n_stdevs(model, column_name, group_by=none, sigma_threshold=3) %}
    {{ return(adapter.dispatch('test_expect_column_values_to_be_within_n_stdevs', 'dbt_expectations')(model, column_name, group_by, sigma_threshold)) }}
{% endtest %}

{% macro default__test_expect_column_values_to_be_within_n_stdevs(model, column_name, group_by, sigma_threshold) %}
    with

    metric_values as (
        {%- if group_by %}
        select
            {%- for column in group_by %}
            {{ column }},
            {%- endfor %}
            sum({{ column_name }}) as metric_value
        from {{ model }}
        group by {{ group_by | join(', ') }}
        {%- else %}
        select *, {{ column_name }} as metric_value
        from {{ model }}
        {%- endif %}
    ),

    spread as (
        select
            avg(metric_value) as metric_mean,
            stddev_samp(metric_value) as metric_stddev
        from metric_values
    ),

    scored as (
        select
            metric_values.*,
            (metric_values.metric_value - spread.metric_mean)
                / nullif(spread.metric_stddev, 0) as metric_sigma
        from metric_values
        cross join spread
    )

    select *
    from scored
    where abs(metric_sigma) > {{ sigma_threshold }}
{% endmacro %}

{#
    Anomaly check on a time series, per group_by partition. `column_name` is summed per
    `period` of `date_column_name`; with take_logs the value is ln(sum) (0 when the sum is 0 or
    null); with take_diffs it is the value minus the value `lookback_periods` rows earlier
    (a missing earlier row counts as 0). Each value is scored against the mean and sample
    standard deviation of the `trend_periods` rows before it (periods with no rows are not
    filled in). Tested are the `test_periods` complete periods before the current one, counted
    back from now in var('dbt_date:time_zone'): the current, partial period and any later one are
    never tested. Fails where the score is below the lower threshold (default
    -sigma_threshold) or above the upper one (default sigma_threshold); a zero or null deviation
    passes.
#}
{% test expect_column_values_to_be_within_n_moving_stdevs(
    model, column_name, date_column_name, group_by=none, period='day', lookback_periods=1,
    trend_periods=7, test_periods=14, sigma_threshold=3, sigma_threshold_upper=none,
    sigma_threshold_lower=none, take_diffs=true, take_logs=true
) %}
    {{ return(adapter.dispatch('test_expect_column_values_to_be_within_n_moving_stdevs', 'dbt_expectations')(model, column_name, date_column_name, group_by, period, lookback_periods, trend_periods, test_periods, sigma_threshold, sigma_threshold_upper, sigma_threshold_lower, take_diffs, take_logs)) }}
{% endtest %}

{% macro _moving_metric(value, take_logs) -%}
    {%- if take_logs -%}coalesce(ln(nullif({{ value }}, 0)), 0){%- else -%}coalesce({{ value }}, 0){%- endif -%}
{%- endmacro %}

{% macro default__test_expect_column_values_to_be_within_n_moving_stdevs(model, column_name, date_column_name, group_by, period, lookback_periods, trend_periods, test_periods, sigma_threshold, sigma_threshold_upper, sigma_threshold_lower, take_diffs, take_logs) %}
    {%- set upper = sigma_threshold_upper if sigma_threshold_upper is not none else sigma_threshold -%}
    {%- set lower = sigma_threshold_lower if sigma_threshold_lower is not none else -1 * sigma_threshold -%}
    {%- set partition = 'partition by ' ~ group_by | join(', ') ~ ' ' if group_by else '' -%}
    {%- set current_period = dbt.date_trunc(period, dbt_expectations.now()) -%}
    with

    period_sums as (
        select
            {%- for column in group_by or [] %}
            {{ column }},
            {%- endfor %}
            cast({{ dbt.date_trunc(period, date_column_name) }} as {{ dbt.type_timestamp() }}) as metric_period,
            sum({{ column_name }}) as metric_sum
        from {{ model }}
        group by {% for column in group_by or [] %}{{ column }}, {% endfor %}{{ dbt.date_trunc(period, date_column_name) }}
    ),

    metric_values as (
        select
            *,
            {%- if take_diffs %}
            {{ dbt_expectations._moving_metric('metric_sum', take_logs) }}
            - {{ dbt_expectations._moving_metric(
                'lag(metric_sum, ' ~ lookback_periods ~ ') over (' ~ partition ~ 'order by metric_period)', take_logs
            ) }}
            {%- else %}
            {{ dbt_expectations._moving_metric('metric_sum', take_logs) }}
            {%- endif %} as metric_test_value
        from period_sums
    ),

    moving as (
        select
            *,
            avg(metric_test_value) over trend as metric_test_rolling_average,
            stddev_samp(metric_test_value) over trend as metric_test_rolling_stddev
        from metric_values
        window trend as ({{ partition }}order by metric_period rows between {{ trend_periods }} preceding and 1 preceding)
    ),

    scored as (
        select
            *,
            (metric_test_value - metric_test_rolling_average)
                / nullif(metric_test_rolling_stddev, 0) as metric_test_sigma
        from moving
    )

    select *
    from scored
    where metric_period >= cast({{ dbt.dateadd(period, -1 * test_periods, current_period) }} as {{ dbt.type_timestamp() }})
        and metric_period < cast({{ current_period }} as {{ dbt.type_timestamp() }})
        and not (metric_test_sigma >= {{ lower }} and metric_test_sigma <= {{ upper }})
{% endmacro %}

{#
    Every `date_part` (every `interval`-th one, counted from the start, when given) between the
    start and the end must hold at least one row. Start and end default to the earliest and
    latest cast(date_col as date) after row_condition; `test_start_date` / `test_end_date`
    ('YYYY-MM-DD') fix them. The end is exclusive, as in the original. Missing periods are
    returned as date_<date_part>, is_missing, row_cnt, and `exclusion_condition` (on those
    columns) drops the expected gaps.
#}
{% test expect_row_values_to_have_data_for_every_n_datepart(
    model, date_col, date_part='day', interval=none, row_condition=none, exclusion_condition=none,
    test_start_date=none, test_end_date=none
) %}
    {{ return(adapter.dispatch('test_expect_row_values_to_have_data_for_every_n_datepart', 'dbt_expectations')(model, date_col, date_part, interval, row_condition, exclusion_condition, test_start_date, test_end_date)) }}
{% endtest %}

{% macro default__test_expect_row_values_to_have_data_for_every_n_datepart(model, date_col, date_part, interval, row_condition, exclusion_condition, test_start_date, test_end_date) %}
    {%- set timestamp = dbt.type_timestamp() -%}
    {%- set period_column = 'date_' ~ date_part -%}
    {%- set spine = dbt_expectations._period_spine(date_part, timestamp) -%}
    with{{ ' recursive' if spine.recursive }}

    {#- only the date column's values: `filtered` is read twice, and an engine that
        materializes it would otherwise copy every column of the model #}
    filtered as (
        select {{ date_col }} as expectation_date
        from {{ dbt_expectations._expectations_rows(model, row_condition) }} as expectation_rows
    ),

    bounds as (
        select
            cast({{ dbt.date_trunc(date_part,
                "cast('" ~ test_start_date ~ "' as " ~ timestamp ~ ")" if test_start_date
                else 'min(cast(cast(expectation_date as date) as ' ~ timestamp ~ '))') }} as {{ timestamp }}) as start_at,
            {% if test_end_date -%}
            cast('{{ test_end_date }}' as {{ timestamp }})
            {%- else -%}
            max(cast(cast(expectation_date as date) as {{ timestamp }}))
            {%- endif %} as end_at
        from filtered
    ),

    {{ spine.cte }},

    expected_periods as (
        select period_at
        from spine
        {%- if interval %}
        cross join bounds
        where mod(cast({{ dbt.datediff('bounds.start_at', 'spine.period_at', date_part) }} as {{ dbt.type_int() }}), {{ interval }}) = 0
        {%- endif %}
    ),

    observed as (
        select
            {%- set truncated = 'cast(' ~ dbt.date_trunc(date_part, 'expectation_date') ~ ' as ' ~ timestamp ~ ')' %}
            {%- if interval %}
            cast({{ dbt.dateadd(
                date_part,
                '-1 * mod(cast(' ~ dbt.datediff('bounds.start_at', truncated, date_part) ~ ' as ' ~ dbt.type_int() ~ '), ' ~ interval ~ ')',
                truncated,
            ) }} as {{ timestamp }}) as period_at,
            {%- else %}
            {{ truncated }} as period_at,
            {%- endif %}
            count(*) as row_cnt
        from filtered
        {%- if interval %}
        cross join bounds
        {%- endif %}
        group by 1
    ),

    final as (
        select
            expected_periods.period_at as {{ period_column }},
            observed.period_at is null as is_missing,
            coalesce(observed.row_cnt, 0) as row_cnt
        from expected_periods
        left join observed on expected_periods.period_at = observed.period_at
    )

    select *
    from final
    where row_cnt = 0
    {%- if exclusion_condition %}
        and {{ exclusion_condition }}
    {%- endif %}
{% endmacro %}

{#
    The periods from `bounds.start_at` (always included) up to `bounds.end_at` (exclusive), one
    `date_part` apart, as the CTE `spine (period_at)`. Portable: a recursive CTE. DuckDB and
    Spark: the engine's series generator, the same rows without recursion (Spark evaluates a
    recursive CTE one iteration per job and stalls on a daily spine of a few years).
#}
{% macro _period_spine(date_part, timestamp) -%}
    {{ return(adapter.dispatch('_period_spine', 'dbt_expectations')(date_part, timestamp)) }}
{%- endmacro %}

{% macro default___period_spine(date_part, timestamp) -%}
    {%- set cte -%}
    spine (period_at) as (
        select start_at from bounds where start_at is not null
        union all
        select cast({{ dbt.dateadd(date_part, 1, 'spine.period_at') }} as {{ timestamp }})
        from spine
        cross join bounds
        where {{ dbt.dateadd(date_part, 1, 'spine.period_at') }} < bounds.end_at
    )
    {%- endset -%}
    {{ return({'recursive': true, 'cte': cte}) }}
{%- endmacro %}

{# One step of the series: a week is seven days, a quarter three months. #}
{% macro _period_step(date_part) -%}
    {%- set steps = {'week': [7, 'day'], 'quarter': [3, 'month']} -%}
    {{ return(steps.get(date_part | lower, [1, date_part | lower])) }}
{%- endmacro %}

{% macro duckdb___period_spine(date_part, timestamp) -%}
    {%- set step = dbt_expectations._period_step(date_part) -%}
    {%- set cte -%}
    spine as (
        select period_at
        from (
            select
                bounds.start_at,
                bounds.end_at,
                cast(unnest(generate_series(
                    bounds.start_at,
                    greatest(bounds.start_at, bounds.end_at),
                    interval '{{ step[0] }} {{ step[1] }}'
                )) as {{ timestamp }}) as period_at
            from bounds
            where bounds.start_at is not null
        ) as series
        where period_at = start_at or period_at < end_at
    )
    {%- endset -%}
    {{ return({'recursive': false, 'cte': cte}) }}
{%- endmacro %}

{% macro spark___period_spine(date_part, timestamp) -%}
    {%- set step = dbt_expectations._period_step(date_part) -%}
    {%- set interval = {
        'year': 'make_ym_interval(' ~ step[0] ~ ', 0)',
        'month': 'make_ym_interval(0, ' ~ step[0] ~ ')',
        'day': 'make_dt_interval(' ~ step[0] ~ ')',
        'hour': 'make_dt_interval(0, ' ~ step[0] ~ ')',
        'minute': 'make_dt_interval(0, 0, ' ~ step[0] ~ ')',
        'second': 'make_dt_interval(0, 0, 0, ' ~ step[0] ~ ')',
    }[step[1]] -%}
    {%- set cte -%}
    spine as (
        select cast(series_at as {{ timestamp }}) as period_at
        from (
            select
                bounds.start_at,
                bounds.end_at,
                explode(sequence(
                    bounds.start_at,
                    greatest(bounds.start_at, bounds.end_at),
                    {{ interval }}
                )) as series_at
            from bounds
            where bounds.start_at is not null
        ) as series
        where series_at = start_at or series_at < end_at
    )
    {%- endset -%}
    {{ return({'recursive': false, 'cte': cte}) }}
{%- endmacro %}
