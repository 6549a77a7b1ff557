{#
    Column, aggregate, table and time-series expectations. Aggregate checks return one row per
    failing group; row checks return the failing rows.
#}

{# Rows of `model` that satisfy `row_condition` (all rows when none). #}
{% macro _expectations_rows(model, row_condition=none) -%}
    (select * from {{ model }}{% if row_condition %} where {{ row_condition }}{% endif %})
{%- endmacro %}

{#
    The shared aggregate check: `expression` computed per group (or once), failing when it is
    null or outside [min_value, max_value] (strict bounds with `strictly`).
#}
{% macro _expect_aggregate_between(
    model, expression, min_value=none, max_value=none, group_by=none, row_condition=none, strictly=false
) -%}
    {%- if min_value is none and max_value is none -%}
        {{ exceptions.raise_compiler_error("an expectation with bounds needs min_value or max_value") }}
    {%- endif -%}
    {%- set low = '>' if strictly else '>=' -%}
    {%- set high = '<' if strictly else '<=' -%}
    select *
    from (
        select
            {%- if group_by %}
            {{ group_by | join(', ') }},
            {%- endif %}
            {{ expression }} as expression
        from {{ dbt_expectations._expectations_rows(model, row_condition) }} as expectation_rows
        {%- if group_by %}
        group by {{ group_by | join(', ') }}
        {%- endif %}
    ) as aggregated
    where expression is null
        or not (
            1 = 1
            {%- if min_value is not none %} and expression {{ low }} {{ min_value }}{% endif %}
            {%- if max_value is not none %} and expression {{ high }} {{ max_value }}{% endif %}
        )
{%- endmacro %}


{% test expect_column_values_to_not_be_null(model, column_name, row_condition=none) %}
    {{ return(adapter.dispatch('test_expect_column_values_to_not_be_null', 'dbt_expectations')(model, column_name, row_condition)) }}
{% endtest %}

{% macro default__test_expect_column_values_to_not_be_null(model, column_name, row_condition) %}
    select *
    from {{ dbt_expectations._expectations_rows(model, row_condition) }} as expectation_rows
    where {{ column_name }} is null
{% endmacro %}

{% test expect_column_values_to_be_unique(model, column_name, row_condition=none) %}
    {{ return(adapter.dispatch('test_expect_column_values_to_be_unique', 'dbt_expectations')(model, column_name, row_condition)) }}
{% endtest %}

{% macro default__test_expect_column_values_to_be_unique(model, column_name, row_condition) %}
    select {{ column_name }}, count(*) as duplicate_count
    from {{ dbt_expectations._expectations_rows(model, row_condition) }} as expectation_rows
    where {{ column_name }} is not null
    group by {{ column_name }}
    having count(*) > 1
{% endmacro %}

{% test expect_column_values_to_match_regex(model, column_name, regex, row_condition=none, is_raw=false, flags='') %}
    {{ return(adapter.dispatch('test_expect_column_values_to_match_regex', 'dbt_expectations')(model, column_name, regex, row_condition, is_raw, flags)) }}
{% endtest %}

{% macro default__test_expect_column_values_to_match_regex(model, column_name, regex, row_condition, is_raw, flags) %}
    select *
    from {{ dbt_expectations._expectations_rows(model, row_condition) }} as expectation_rows
    where {{ column_name }} is not null
        and not {{ dbt_expectations.regexp_matches(column_name, regex, is_raw, flags) }}
{% endmacro %}

{% macro regexp_matches(column, regex, is_raw=false, flags='') -%}
    {{ return(adapter.dispatch('regexp_matches', 'dbt_expectations')(column, regex, is_raw, flags)) }}
{%- endmacro %}

{% macro default__regexp_matches(column, regex, is_raw, flags) -%}
    {%- set operator = '~*' if 'i' in flags else '~' -%}
    ({{ column }} {{ operator }} '{{ regex if is_raw else regex | replace("'", "''") }}')
{%- endmacro %}

{% macro duckdb__regexp_matches(column, regex, is_raw, flags) -%}
    regexp_matches({{ column }}, '{{ regex if is_raw else regex | replace("'", "''") }}'{% if flags %}, '{{ flags }}'{% endif %})
{%- endmacro %}

{% test expect_column_mean_to_be_between(
    model, column_name, min_value=none, max_value=none, group_by=none, row_condition=none, strictly=false
) %}
    {{ return(adapter.dispatch('test_expect_column_mean_to_be_between', 'dbt_expectations')(model, column_name, min_value, max_value, group_by, row_condition, strictly)) }}
{% endtest %}

{% macro default__test_expect_column_mean_to_be_between(model, column_name, min_value, max_value, group_by, row_condition, strictly) %}
    {{ dbt_expectations._expect_aggregate_between(
        model, 'avg(' ~ column_name ~ ')', min_value, max_value, group_by, row_condition, strictly
    ) }}
{% endmacro %}

{% test expect_column_stdev_to_be_between(
    model, column_name, min_value=none, max_value=none, group_by=none, row_condition=none, strictly=false
) %}
    {{ return(adapter.dispatch('test_expect_column_stdev_to_be_between', 'dbt_expectations')(model, column_name, min_value, max_value, group_by, row_condition, strictly)) }}
{% endtest %}

{% macro default__test_expect_column_stdev_to_be_between(model, column_name, min_value, max_value, group_by, row_condition, strictly) %}
    {{ dbt_expectations._expect_aggregate_between(
        model, 'stddev_samp(' ~ column_name ~ ')', min_value, max_value, group_by, row_condition, strictly
    ) }}
{% endmacro %}

{% test expect_column_quantile_values_to_be_between(
    model, column_name, quantile, min_value=none, max_value=none, group_by=none, row_condition=none,
    strictly=false
) %}
    {{ return(adapter.dispatch('test_expect_column_quantile_values_to_be_between', 'dbt_expectations')(model, column_name, quantile, min_value, max_value, group_by, row_condition, strictly)) }}
{% endtest %}

{% macro default__test_expect_column_quantile_values_to_be_between(model, column_name, quantile, min_value, max_value, group_by, row_condition, strictly) %}
    {{ dbt_expectations._expect_aggregate_between(
        model, dbt_expectations.quantile(column_name, quantile), min_value, max_value, group_by,
        row_condition, strictly
    ) }}
{% endmacro %}

{% macro quantile(column, quantile) -%}
    {{ return(adapter.dispatch('quantile', 'dbt_expectations')(column, quantile)) }}
{%- endmacro %}

{% macro default__quantile(column, quantile) -%}
    percentile_cont({{ quantile }}) within group (order by {{ column }})
{%- endmacro %}

{% macro duckdb__quantile(column, quantile) -%}
    quantile_cont({{ column }}, {{ quantile }})
{%- endmacro %}

{% test expect_column_proportion_of_unique_values_to_be_between(
    model, column_name, min_value=none, max_value=none, group_by=none, row_condition=none, strictly=false
) %}
    {{ return(adapter.dispatch('test_expect_column_proportion_of_unique_values_to_be_between', 'dbt_expectations')(model, column_name, min_value, max_value, group_by, row_condition, strictly)) }}
{% endtest %}

{% macro default__test_expect_column_proportion_of_unique_values_to_be_between(model, column_name, min_value, max_value, group_by, row_condition, strictly) %}
    {{ dbt_expectations._expect_aggregate_between(
        model, 'count(distinct ' ~ column_name ~ ') * 1.0 / nullif(count(' ~ column_name ~ '), 0)',
        min_value, max_value, group_by, row_condition, strictly
    ) }}
{% endmacro %}

{% test expect_column_distinct_count_to_be_between(
    model, column_name, min_value=none, max_value=none, group_by=none, row_condition=none, strictly=false
) %}
    {{ return(adapter.dispatch('test_expect_column_distinct_count_to_be_between', 'dbt_expectations')(model, column_name, min_value, max_value, group_by, row_condition, strictly)) }}
{% endtest %}

{% macro default__test_expect_column_distinct_count_to_be_between(model, column_name, min_value, max_value, group_by, row_condition, strictly) %}
    {{ dbt_expectations._expect_aggregate_between(
        model, 'count(distinct ' ~ column_name ~ ')', min_value, max_value, group_by, row_condition, strictly
    ) }}
{% endmacro %}

{#
    The newest `column_name` must lie within `interval` `datepart`s of now (UTC, or
    var('dbt_date:time_zone')). An empty table fails.
#}
{% test expect_row_values_to_have_recent_data(model, column_name, datepart, interval, row_condition=none) %}
    {{ return(adapter.dispatch('test_expect_row_values_to_have_recent_data', 'dbt_expectations')(model, column_name, datepart, interval, row_condition)) }}
{% endtest %}

{% macro default__test_expect_row_values_to_have_recent_data(model, column_name, datepart, interval, row_condition) %}
    {%- set time_zone = var('dbt_date:time_zone', 'UTC') %}
    select max_value, now_value
    from (
        select
            max(cast({{ column_name }} as timestamp)) as max_value,
            {{ dbt_expectations.current_timestamp_in(time_zone) }} as now_value
        from {{ dbt_expectations._expectations_rows(model, row_condition) }} as expectation_rows
    ) as latest
    where max_value is null
        or max_value < now_value - {{ dbt_expectations.interval_of(interval, datepart) }}
{% endmacro %}

{% macro current_timestamp_in(time_zone) -%}
    {{ return(adapter.dispatch('current_timestamp_in', 'dbt_expectations')(time_zone)) }}
{%- endmacro %}

{% macro default__current_timestamp_in(time_zone) -%}
    cast(current_timestamp at time zone '{{ time_zone }}' as timestamp)
{%- endmacro %}

{% macro duckdb__current_timestamp_in(time_zone) -%}
    cast(timezone('{{ time_zone }}', current_timestamp) as timestamp)
{%- endmacro %}

{% macro interval_of(count, datepart) -%}
    (interval '1 {{ datepart }}' * {{ count }})
{%- endmacro %}

{#
    Values sorted by `sort_column` (default: the column itself) must increase (or not
    decrease, with strictly=false), within each group_by partition. Nulls are ignored.
#}
{% test expect_column_values_to_be_increasing(
    model, column_name, sort_column=none, strictly=true, row_condition=none, group_by=none
) %}
    {{ return(adapter.dispatch('test_expect_column_values_to_be_increasing', 'dbt_expectations')(model, column_name, sort_column, strictly, row_condition, group_by)) }}
{% endtest %}

{% macro default__test_expect_column_values_to_be_increasing(model, column_name, sort_column, strictly, row_condition, group_by) %}
    {%- set order = sort_column or column_name %}
    select *
    from (
        select
            {{ column_name }} as current_value,
            lag({{ column_name }}) over (
                {%- if group_by %} partition by {{ group_by | join(', ') }}{% endif %}
                order by {{ order }}
            ) as previous_value
        from {{ dbt_expectations._expectations_rows(model, row_condition) }} as expectation_rows
        where {{ column_name }} is not null
    ) as ordered
    where previous_value is not null
        and current_value {{ '<=' if strictly else '<' }} previous_value
{% endmacro %}

{#
    Anomaly check on a time series: `column_name` summed per `period` of `date_column_name`
    (optionally differenced, optionally logged) must stay within `sigma_threshold` moving
    standard deviations of the mean of the previous `trend_periods` periods, for the last
    `test_periods` periods of the `lookback_periods` examined.
#}
{% test expect_column_values_to_be_within_n_moving_stdevs(
    model, column_name, date_column_name, period='day', lookback_periods=1, trend_periods=7,
    test_periods=14, sigma_threshold=3, sigma_threshold_upper=none, sigma_threshold_lower=none,
    take_diffs=true, take_logs=true
) %}
    {{ return(adapter.dispatch('test_expect_column_values_to_be_within_n_moving_stdevs', 'dbt_expectations')(model, column_name, date_column_name, period, lookback_periods, trend_periods, test_periods, sigma_threshold, sigma_threshold_upper, sigma_threshold_lower, take_diffs, take_logs)) }}
{% endtest %}

{% macro default__test_expect_column_values_to_be_within_n_moving_stdevs(model, column_name, date_column_name, period, lookback_periods, trend_periods, test_periods, sigma_threshold, sigma_threshold_upper, sigma_threshold_lower, take_diffs, take_logs) %}
    {%- set upper = sigma_threshold_upper if sigma_threshold_upper is not none else sigma_threshold -%}
    {%- set lower = sigma_threshold_lower if sigma_threshold_lower is not none else -1 * sigma_threshold -%}
    with

    series as (
        select
            {{ dbt.date_trunc(period, date_column_name) }} as metric_period,
            sum({{ column_name }}) as metric_value
        from {{ model }}
        group by 1
    ),

    transformed as (
        select
            metric_period,
            {%- set value = 'ln(metric_value)' if take_logs else 'metric_value' %}
            {%- if take_diffs %}
            {{ value }} - lag({{ value }}, {{ lookback_periods }}) over (order by metric_period)
            {%- else %}
            {{ value }}
            {%- endif %} as metric_test_value
        from series
        {%- if take_logs %}
        where metric_value > 0
        {%- endif %}
    ),

    scored as (
        select
            metric_period,
            metric_test_value,
            avg(metric_test_value) over trend as metric_test_rolling_average,
            stddev_samp(metric_test_value) over trend as metric_test_rolling_stddev,
            row_number() over (order by metric_period desc) as recency
        from transformed
        window trend as (order by metric_period rows between {{ trend_periods }} preceding and 1 preceding)
    ),

    sigmas as (
        select
            *,
            (metric_test_value - metric_test_rolling_average)
                / nullif(metric_test_rolling_stddev, 0) as metric_test_sigma
        from scored
    )

    select *
    from sigmas
    where recency <= {{ test_periods }}
        and metric_test_sigma is not null
        and (metric_test_sigma > {{ upper }} or metric_test_sigma < {{ lower }})
{% endmacro %}
