{#
    Expectations on a whole table: its row count, its columns, its freshness, and its agreement
    with another table.
#}

{% test expect_table_row_count_to_be_between(
    model, min_value=none, max_value=none, group_by=none, row_condition=none, strictly=false
) %}
    {{ return(adapter.dispatch('test_expect_table_row_count_to_be_between', 'dbt_expectations')(model, min_value, max_value, group_by, row_condition, strictly)) }}
{% endtest %}

{% macro default__test_expect_table_row_count_to_be_between(model, min_value, max_value, group_by, row_condition, strictly) %}
    {{ dbt_expectations._expect_aggregate_between(model, 'count(*)', min_value, max_value, group_by, row_condition, strictly) }}
{% endmacro %}

{#
    count(*) of `model` must equal count(*) * `factor` of `compare_model`, per group when
    group_by / compare_group_by are given. `row_condition` also filters the compare model
    unless `compare_row_condition` is given.
#}
{% test expect_table_row_count_to_equal_other_table(
    model, compare_model, group_by=none, compare_group_by=none, factor=1, row_condition=none,
    compare_row_condition=none
) %}
    {{ return(adapter.dispatch('test_expect_table_row_count_to_equal_other_table', 'dbt_expectations')(model, compare_model, group_by, compare_group_by, factor, row_condition, compare_row_condition)) }}
{% endtest %}

{% macro default__test_expect_table_row_count_to_equal_other_table(model, compare_model, group_by, compare_group_by, factor, row_condition, compare_row_condition) %}
    {{ dbt_expectations._expect_equal_aggregates(
        model, 'count(*)', compare_model, 'count(*) * ' ~ factor, group_by, compare_group_by,
        row_condition, compare_row_condition
    ) }}
{% endmacro %}

{#
    An aggregate `expression` of `model` must equal `compare_expression` (default: the same
    expression) of `compare_model`, overall or per group, within `tolerance` (absolute) or
    `tolerance_percent` (a share of the model's value). `row_condition` and `group_by` also
    apply to the compare model unless their compare_ versions are given.
#}
{% test expect_table_aggregation_to_equal_other_table(
    model, expression, compare_model, compare_expression=none, group_by=none, compare_group_by=none,
    row_condition=none, compare_row_condition=none, tolerance=0.0, tolerance_percent=none
) %}
    {{ return(adapter.dispatch('test_expect_table_aggregation_to_equal_other_table', 'dbt_expectations')(model, expression, compare_model, compare_expression, group_by, compare_group_by, row_condition, compare_row_condition, tolerance, tolerance_percent)) }}
{% endtest %}

{% macro default__test_expect_table_aggregation_to_equal_other_table(model, expression, compare_model, compare_expression, group_by, compare_group_by, row_condition, compare_row_condition, tolerance, tolerance_percent) %}
    {{ dbt_expectations._expect_equal_aggregates(
        model, expression, compare_model, compare_expression, group_by, compare_group_by,
        row_condition, compare_row_condition, tolerance, tolerance_percent
    ) }}
{% endmacro %}

{#
    Column-name checks. Names on both sides pass through the Jinja filter `transform`
    ('upper' by default, so the comparison ignores case).
#}
{% test expect_table_columns_to_match_set(model, column_list, transform='upper') %}
    {{ return(adapter.dispatch('test_expect_table_columns_to_match_set', 'dbt_expectations')(model, column_list, transform)) }}
{% endtest %}

{% macro default__test_expect_table_columns_to_match_set(model, column_list, transform) %}
    {%- set mismatched = [] -%}
    {%- if execute -%}
        {%- set actual = dbt_expectations._column_names(model, transform) -%}
        {%- set expected = column_list | map(transform) | list -%}
        {%- for column in actual -%}{%- if column not in expected -%}{%- do mismatched.append(column) -%}{%- endif -%}{%- endfor -%}
        {%- for column in expected -%}{%- if column not in actual -%}{%- do mismatched.append(column) -%}{%- endif -%}{%- endfor -%}
    {%- endif -%}
    {{ dbt_expectations._string_rows('mismatched_column', mismatched) }}
{% endmacro %}

{# The table's columns, in order, must be exactly `column_list`. #}
{% test expect_table_columns_to_match_ordered_list(model, column_list, transform='upper') %}
    {{ return(adapter.dispatch('test_expect_table_columns_to_match_ordered_list', 'dbt_expectations')(model, column_list, transform)) }}
{% endtest %}

{% macro default__test_expect_table_columns_to_match_ordered_list(model, column_list, transform) %}
    {%- set mismatched = [] -%}
    {%- if execute -%}
        {%- set actual = dbt_expectations._column_names(model, transform) -%}
        {%- set expected = column_list | map(transform) | list -%}
        {%- for index in range([actual | length, expected | length] | max) -%}
            {%- set have = actual[index] if index < actual | length else '(none)' -%}
            {%- set want = expected[index] if index < expected | length else '(none)' -%}
            {%- if have != want -%}
                {%- do mismatched.append('position ' ~ (index + 1) ~ ': ' ~ have ~ ' instead of ' ~ want) -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}
    {{ dbt_expectations._string_rows('mismatched_position', mismatched) }}
{% endmacro %}

{# Every name in `column_list` must be a column of the table (others may exist). #}
{% test expect_table_columns_to_contain_set(model, column_list, transform='upper') %}
    {{ return(adapter.dispatch('test_expect_table_columns_to_contain_set', 'dbt_expectations')(model, column_list, transform)) }}
{% endtest %}

{% macro default__test_expect_table_columns_to_contain_set(model, column_list, transform) %}
    {%- set missing = [] -%}
    {%- if execute -%}
        {%- set actual = dbt_expectations._column_names(model, transform) -%}
        {%- for column in column_list | map(transform) -%}{%- if column not in actual -%}{%- do missing.append(column) -%}{%- endif -%}{%- endfor -%}
    {%- endif -%}
    {{ dbt_expectations._string_rows('missing_column', missing) }}
{% endmacro %}

{# `column_name` must be a column; with `column_index` (1-based), at that position. #}
{% test expect_column_to_exist(model, column_name, column_index=none, transform='upper') %}
    {{ return(adapter.dispatch('test_expect_column_to_exist', 'dbt_expectations')(model, column_name, column_index, transform)) }}
{% endtest %}

{% macro default__test_expect_column_to_exist(model, column_name, column_index, transform) %}
    {%- set problems = [] -%}
    {%- if execute -%}
        {%- set actual = dbt_expectations._column_names(model, transform) -%}
        {%- set wanted = [column_name] | map(transform) | first -%}
        {%- if wanted not in actual -%}
            {%- do problems.append(wanted ~ ': missing') -%}
        {%- elif column_index and actual.index(wanted) + 1 != column_index -%}
            {%- do problems.append(wanted ~ ': at position ' ~ (actual.index(wanted) + 1) ~ ', expected ' ~ column_index) -%}
        {%- endif -%}
    {%- endif -%}
    {{ dbt_expectations._string_rows('column_problem', problems) }}
{% endmacro %}

{% test expect_table_column_count_to_equal(model, value) %}
    {{ return(adapter.dispatch('test_expect_table_column_count_to_equal', 'dbt_expectations')(model, value)) }}
{% endtest %}

{% macro default__test_expect_table_column_count_to_equal(model, value) %}
    {%- set count = adapter.get_columns_in_relation(model) | length if execute else value -%}
    select *
    from (select {{ count }} as column_count, {{ value }} as expected_column_count) as counted
    where column_count <> expected_column_count
{% endmacro %}

{#
    The newest `column_name` (cast to timestamp), ignoring rows later than now, must be no older
    than `interval` `datepart`s before now, in var('dbt_date:time_zone'). No rows (after
    row_condition and the future filter) fails.
#}
{% test expect_row_values_to_have_recent_data(model, column_name, datepart, interval, row_condition=none) %}
    {{ return(adapter.dispatch('test_expect_row_values_to_have_recent_data', 'dbt_expectations')(model, column_name, datepart, interval, row_condition)) }}
{% endtest %}

{% macro default__test_expect_row_values_to_have_recent_data(model, column_name, datepart, interval, row_condition) %}
    {%- set now = dbt_expectations.now() -%}
    select *
    from (
        select max(cast({{ column_name }} as {{ dbt.type_timestamp() }})) as latest_value
        from {{ dbt_expectations._expectations_rows(model, row_condition) }} as expectation_rows
        where cast({{ column_name }} as {{ dbt.type_timestamp() }}) <= {{ now }}
    ) as latest
    where latest_value is null
        or latest_value < {{ dbt.dateadd(datepart, -1 * interval, now) }}
{% endmacro %}

{#
    expect_row_values_to_have_recent_data per `group_by` group: each group's newest
    `timestamp_column` (rows later than now ignored) must be recent. A group whose every row is
    in the future is not checked; no group at all fails.
#}
{% test expect_grouped_row_values_to_have_recent_data(model, group_by, timestamp_column, datepart, interval, row_condition=none) %}
    {{ return(adapter.dispatch('test_expect_grouped_row_values_to_have_recent_data', 'dbt_expectations')(model, group_by, timestamp_column, datepart, interval, row_condition)) }}
{% endtest %}

{% macro default__test_expect_grouped_row_values_to_have_recent_data(model, group_by, timestamp_column, datepart, interval, row_condition) %}
    {%- set now = dbt_expectations.now() -%}
    with

    latest as (
        select
            {%- for column in group_by %}
            {{ column }},
            {%- endfor %}
            max(cast({{ timestamp_column }} as {{ dbt.type_timestamp() }})) as latest_value
        from {{ dbt_expectations._expectations_rows(model, row_condition) }} as expectation_rows
        where cast({{ timestamp_column }} as {{ dbt.type_timestamp() }}) <= {{ now }}
        group by {{ group_by | join(', ') }}
    )

    select *
    from latest
    where latest_value < {{ dbt.dateadd(datepart, -1 * interval, now) }}
    union all
    select
        {%- for column in group_by %}
        null,
        {%- endfor %}
        null
    where not exists (select 1 from latest)
{% endmacro %}
