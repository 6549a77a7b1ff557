{#
    Aggregates of one column, over all rows or per group_by group, after row_condition. An
    aggregate that is null (no rows, only nulls, the stdev of one row) passes, like the
    original: `not (null)` selects nothing. Guard emptiness with a row count test.
#}

{% test expect_column_mean_to_be_between(
    model, column_name, min_value=none, max_value=none, group_by=none, row_condition=none, strictly=false
) %}
    {{ return(adapter.dispatch('test_expect_column_mean_to_be_between', 'dbt_expectations')(model, column_name, min_value, max_value, group_by, row_condition, strictly)) }}
{% endtest %}

{% macro default__test_expect_column_mean_to_be_between(model, column_name, min_value, max_value, group_by, row_condition, strictly) %}
    {{ dbt_expectations._expect_aggregate_between(model, 'avg(' ~ column_name ~ ')', min_value, max_value, group_by, row_condition, strictly) }}
{% endmacro %}

{% test expect_column_median_to_be_between(
    model, column_name, min_value=none, max_value=none, group_by=none, row_condition=none, strictly=false
) %}
    {{ return(adapter.dispatch('test_expect_column_median_to_be_between', 'dbt_expectations')(model, column_name, min_value, max_value, group_by, row_condition, strictly)) }}
{% endtest %}

{% macro default__test_expect_column_median_to_be_between(model, column_name, min_value, max_value, group_by, row_condition, strictly) %}
    {{ dbt_expectations._expect_aggregate_between(model, dbt_expectations.median(column_name), min_value, max_value, group_by, row_condition, strictly) }}
{% endmacro %}

{# Sample standard deviation (null for fewer than two values). #}
{% test expect_column_stdev_to_be_between(
    model, column_name, min_value=none, max_value=none, group_by=none, row_condition=none, strictly=false
) %}
    {{ return(adapter.dispatch('test_expect_column_stdev_to_be_between', 'dbt_expectations')(model, column_name, min_value, max_value, group_by, row_condition, strictly)) }}
{% endtest %}

{% macro default__test_expect_column_stdev_to_be_between(model, column_name, min_value, max_value, group_by, row_condition, strictly) %}
    {{ dbt_expectations._expect_aggregate_between(model, 'stddev_samp(' ~ column_name ~ ')', min_value, max_value, group_by, row_condition, strictly) }}
{% endmacro %}

{# Continuous quantile (linear interpolation), `quantile` in [0, 1]. #}
{% test expect_column_quantile_values_to_be_between(
    model, column_name, quantile, min_value=none, max_value=none, group_by=none, row_condition=none,
    strictly=false
) %}
    {{ return(adapter.dispatch('test_expect_column_quantile_values_to_be_between', 'dbt_expectations')(model, column_name, quantile, min_value, max_value, group_by, row_condition, strictly)) }}
{% endtest %}

{% macro default__test_expect_column_quantile_values_to_be_between(model, column_name, quantile, min_value, max_value, group_by, row_condition, strictly) %}
    {{ dbt_expectations._expect_aggregate_between(model, dbt_expectations.quantile(column_name, quantile), min_value, max_value, group_by, row_condition, strictly) }}
{% endmacro %}

{% test expect_column_min_to_be_between(
    model, column_name, min_value=none, max_value=none, group_by=none, row_condition=none, strictly=false
) %}
    {{ return(adapter.dispatch('test_expect_column_min_to_be_between', 'dbt_expectations')(model, column_name, min_value, max_value, group_by, row_condition, strictly)) }}
{% endtest %}

{% macro default__test_expect_column_min_to_be_between(model, column_name, min_value, max_value, group_by, row_condition, strictly) %}
    {{ dbt_expectations._expect_aggregate_between(model, 'min(' ~ column_name ~ ')', min_value, max_value, group_by, row_condition, strictly) }}
{% endmacro %}

{% test expect_column_max_to_be_between(
    model, column_name, min_value=none, max_value=none, group_by=none, row_condition=none, strictly=false
) %}
    {{ return(adapter.dispatch('test_expect_column_max_to_be_between', 'dbt_expectations')(model, column_name, min_value, max_value, group_by, row_condition, strictly)) }}
{% endtest %}

{% macro default__test_expect_column_max_to_be_between(model, column_name, min_value, max_value, group_by, row_condition, strictly) %}
    {{ dbt_expectations._expect_aggregate_between(model, 'max(' ~ column_name ~ ')', min_value, max_value, group_by, row_condition, strictly) }}
{% endmacro %}

{% test expect_column_sum_to_be_between(
    model, column_name, min_value=none, max_value=none, group_by=none, row_condition=none, strictly=false
) %}
    {{ return(adapter.dispatch('test_expect_column_sum_to_be_between', 'dbt_expectations')(model, column_name, min_value, max_value, group_by, row_condition, strictly)) }}
{% endtest %}

{% macro default__test_expect_column_sum_to_be_between(model, column_name, min_value, max_value, group_by, row_condition, strictly) %}
    {{ dbt_expectations._expect_aggregate_between(model, 'sum(' ~ column_name ~ ')', min_value, max_value, group_by, row_condition, strictly) }}
{% endmacro %}

{# Distinct non-null values over non-null values; 1 when there are none (all null, no rows). #}
{% test expect_column_proportion_of_unique_values_to_be_between(
    model, column_name, min_value=none, max_value=none, group_by=none, row_condition=none, strictly=false
) %}
    {{ return(adapter.dispatch('test_expect_column_proportion_of_unique_values_to_be_between', 'dbt_expectations')(model, column_name, min_value, max_value, group_by, row_condition, strictly)) }}
{% endtest %}

{% macro default__test_expect_column_proportion_of_unique_values_to_be_between(model, column_name, min_value, max_value, group_by, row_condition, strictly) %}
    {%- set expression -%}
        case
            when count({{ column_name }}) = 0 then 1.0
            else count(distinct {{ column_name }}) * 1.0 / count({{ column_name }})
        end
    {%- endset -%}
    {{ dbt_expectations._expect_aggregate_between(model, expression, min_value, max_value, group_by, row_condition, strictly) }}
{% endmacro %}

{% test expect_column_unique_value_count_to_be_between(
    model, column_name, min_value=none, max_value=none, group_by=none, row_condition=none, strictly=false
) %}
    {{ return(adapter.dispatch('test_expect_column_unique_value_count_to_be_between', 'dbt_expectations')(model, column_name, min_value, max_value, group_by, row_condition, strictly)) }}
{% endtest %}

{% macro default__test_expect_column_unique_value_count_to_be_between(model, column_name, min_value, max_value, group_by, row_condition, strictly) %}
    {{ dbt_expectations._expect_aggregate_between(model, 'count(distinct ' ~ column_name ~ ')', min_value, max_value, group_by, row_condition, strictly) }}
{% endmacro %}

{# count(distinct column_name) compared with `value` (=, > or <), per group. #}
{% test expect_column_distinct_count_to_equal(model, column_name, value, group_by=none, row_condition=none) %}
    {{ return(adapter.dispatch('test_expect_column_distinct_count_to_equal', 'dbt_expectations')(model, column_name, value, group_by, row_condition)) }}
{% endtest %}

{% macro default__test_expect_column_distinct_count_to_equal(model, column_name, value, group_by, row_condition) %}
    {{ dbt_expectations._expect_aggregate(model, 'count(distinct ' ~ column_name ~ ') = ' ~ value, group_by, row_condition) }}
{% endmacro %}

{% test expect_column_distinct_count_to_be_greater_than(model, column_name, value, group_by=none, row_condition=none) %}
    {{ return(adapter.dispatch('test_expect_column_distinct_count_to_be_greater_than', 'dbt_expectations')(model, column_name, value, group_by, row_condition)) }}
{% endtest %}

{% macro default__test_expect_column_distinct_count_to_be_greater_than(model, column_name, value, group_by, row_condition) %}
    {{ dbt_expectations._expect_aggregate(model, 'count(distinct ' ~ column_name ~ ') > ' ~ value, group_by, row_condition) }}
{% endmacro %}

{% test expect_column_distinct_count_to_be_less_than(model, column_name, value, group_by=none, row_condition=none) %}
    {{ return(adapter.dispatch('test_expect_column_distinct_count_to_be_less_than', 'dbt_expectations')(model, column_name, value, group_by, row_condition)) }}
{% endtest %}

{% macro default__test_expect_column_distinct_count_to_be_less_than(model, column_name, value, group_by, row_condition) %}
    {{ dbt_expectations._expect_aggregate(model, 'count(distinct ' ~ column_name ~ ') < ' ~ value, group_by, row_condition) }}
{% endmacro %}

{#
    Distinct values against `value_set`: `_to_be_in_set` fails on a value outside the set
    (a null included), `_to_contain_set` on a set value the column lacks, `_to_equal_set` on
    either. Set values are written as literals beside the column, so the database types them
    like the column.
#}
{% test expect_column_distinct_values_to_be_in_set(model, column_name, value_set, quote_values=true, row_condition=none) %}
    {{ return(adapter.dispatch('test_expect_column_distinct_values_to_be_in_set', 'dbt_expectations')(model, column_name, value_set, quote_values, row_condition)) }}
{% endtest %}

{% macro default__test_expect_column_distinct_values_to_be_in_set(model, column_name, value_set, quote_values, row_condition) %}
    {{ dbt_expectations._distinct_values_outside_set(model, column_name, value_set, quote_values, row_condition) }}
{% endmacro %}

{% test expect_column_distinct_values_to_contain_set(model, column_name, value_set, quote_values=true, row_condition=none) %}
    {{ return(adapter.dispatch('test_expect_column_distinct_values_to_contain_set', 'dbt_expectations')(model, column_name, value_set, quote_values, row_condition)) }}
{% endtest %}

{% macro default__test_expect_column_distinct_values_to_contain_set(model, column_name, value_set, quote_values, row_condition) %}
    {{ dbt_expectations._set_values_missing(model, column_name, value_set, quote_values, row_condition) }}
{% endmacro %}

{% test expect_column_distinct_values_to_equal_set(model, column_name, value_set, quote_values=true, row_condition=none) %}
    {{ return(adapter.dispatch('test_expect_column_distinct_values_to_equal_set', 'dbt_expectations')(model, column_name, value_set, quote_values, row_condition)) }}
{% endtest %}

{% macro default__test_expect_column_distinct_values_to_equal_set(model, column_name, value_set, quote_values, row_condition) %}
    select 'not in set' as problem, cast(value_field as {{ dbt.type_string() }}) as value_field
    from ({{ dbt_expectations._distinct_values_outside_set(model, column_name, value_set, quote_values, row_condition) }}) as outside
    union all
    select 'missing from column' as problem, cast(value_field as {{ dbt.type_string() }}) as value_field
    from ({{ dbt_expectations._set_values_missing(model, column_name, value_set, quote_values, row_condition) }}) as missing
{% endmacro %}

{% macro _distinct_values_outside_set(model, column_name, value_set, quote_values, row_condition) -%}
    select distinct {{ column_name }} as value_field
    from {{ dbt_expectations._expectations_rows(model, row_condition) }} as expectation_rows
    where {{ column_name }} is null
        or {{ column_name }} not in ({{ dbt_expectations._literal_list(value_set, quote_values) }})
{%- endmacro %}

{% macro _set_values_missing(model, column_name, value_set, quote_values, row_condition) -%}
    {%- if not value_set -%}
        {{ exceptions.raise_compiler_error("value_set must be a non-empty list; got " ~ value_set ~ ".") }}
    {%- endif -%}
    {%- for value in value_set | unique %}
    select {{ dbt_expectations._literal(value, quote_values) }} as value_field
    where not exists (
        select 1
        from {{ dbt_expectations._expectations_rows(model, row_condition) }} as expectation_rows
        where {{ column_name }} = {{ dbt_expectations._literal(value, quote_values) }}
    )
    {{ 'union all' if not loop.last }}
    {%- endfor %}
{%- endmacro %}

{#
    The value(s) ranked `top_n` by row count (1 = most common) must be in `value_set`. Values
    tied on count share a rank (dense ranking), so every tied value is checked; a null value at
    that rank passes. With quote_values=false the column and the set are cast to `data_type`.
#}
{% test expect_column_most_common_value_to_be_in_set(
    model, column_name, value_set, top_n, quote_values=true, data_type='decimal', row_condition=none
) %}
    {{ return(adapter.dispatch('test_expect_column_most_common_value_to_be_in_set', 'dbt_expectations')(model, column_name, value_set, top_n, quote_values, data_type, row_condition)) }}
{% endtest %}

{% macro default__test_expect_column_most_common_value_to_be_in_set(model, column_name, value_set, top_n, quote_values, data_type, row_condition) %}
    {%- set value = column_name if quote_values else 'cast(' ~ column_name ~ ' as ' ~ data_type ~ ')' -%}
    {%- set literals = [] -%}
    {%- for item in value_set -%}
        {%- do literals.append(dbt_expectations._literal(item, true) if quote_values else 'cast(' ~ item ~ ' as ' ~ data_type ~ ')') -%}
    {%- endfor -%}
    with

    value_counts as (
        select {{ value }} as value_field, count(*) as value_count
        from {{ dbt_expectations._expectations_rows(model, row_condition) }} as expectation_rows
        group by {{ value }}
    ),

    ranked as (
        select *, dense_rank() over (order by value_count desc) as value_count_rank
        from value_counts
    )

    select *
    from ranked
    where value_count_rank = {{ top_n }}
        and value_field not in ({{ literals | join(', ') }})
{% endmacro %}
