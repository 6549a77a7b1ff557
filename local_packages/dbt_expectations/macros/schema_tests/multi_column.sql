{#
    Expectations across several columns of a row, and the general boolean expression. A
    comparison with a null passes.
#}

{% macro _ignore_row_if_values() -%}
    {{ return(['all_values_are_missing', 'any_value_is_missing']) }}
{%- endmacro %}

{#
    No two rows share the same values of `column_list`. Rows are skipped when all those values
    are null (ignore_row_if='all_values_are_missing', the default) or when any is null
    ('any_value_is_missing'). Nulls in the remaining rows group together.
#}
{% test expect_compound_columns_to_be_unique(
    model, column_list, quote_columns=false, ignore_row_if='all_values_are_missing', row_condition=none
) %}
    {{ return(adapter.dispatch('test_expect_compound_columns_to_be_unique', 'dbt_expectations')(model, column_list, quote_columns, ignore_row_if, row_condition)) }}
{% endtest %}

{% macro default__test_expect_compound_columns_to_be_unique(model, column_list, quote_columns, ignore_row_if, row_condition) %}
    {%- if not column_list -%}
        {{ exceptions.raise_compiler_error(
            "expect_compound_columns_to_be_unique: column_list must be a non-empty list of columns; got " ~ column_list ~ "."
        ) }}
    {%- endif -%}
    {%- if ignore_row_if not in dbt_expectations._ignore_row_if_values() -%}
        {{ exceptions.raise_compiler_error(
            "expect_compound_columns_to_be_unique: ignore_row_if must be one of "
            ~ dbt_expectations._ignore_row_if_values() | join(', ') ~ "; got '" ~ ignore_row_if ~ "'."
        ) }}
    {%- endif -%}
    {%- set columns = [] -%}
    {%- for column in column_list -%}
        {%- do columns.append(adapter.quote(column) if quote_columns else column) -%}
    {%- endfor -%}
    {%- set joiner = ' and ' if ignore_row_if == 'any_value_is_missing' else ' or ' -%}
    select {{ columns | join(', ') }}, count(*) as duplicate_count
    from {{ dbt_expectations._expectations_rows(model, row_condition) }} as expectation_rows
    where ({% for column in columns %}{{ joiner if not loop.first }}{{ column }} is not null{% endfor %})
    group by {{ columns | join(', ') }}
    having count(*) > 1
{% endmacro %}

{% test expect_column_pair_values_A_to_be_greater_than_B(
    model, column_A, column_B, or_equal=false, row_condition=none
) %}
    {{ return(adapter.dispatch('test_expect_column_pair_values_A_to_be_greater_than_B', 'dbt_expectations')(model, column_A, column_B, or_equal, row_condition)) }}
{% endtest %}

{% macro default__test_expect_column_pair_values_A_to_be_greater_than_B(model, column_A, column_B, or_equal, row_condition) %}
    {{ dbt_expectations._expect_rows(model, column_A ~ (' >= ' if or_equal else ' > ') ~ column_B, row_condition) }}
{% endmacro %}

{% test expect_column_pair_values_to_be_equal(model, column_A, column_B, row_condition=none) %}
    {{ return(adapter.dispatch('test_expect_column_pair_values_to_be_equal', 'dbt_expectations')(model, column_A, column_B, row_condition)) }}
{% endtest %}

{% macro default__test_expect_column_pair_values_to_be_equal(model, column_A, column_B, row_condition) %}
    {{ dbt_expectations._expect_rows(model, column_A ~ ' = ' ~ column_B, row_condition) }}
{% endmacro %}

{#
    The sum of the sums of `column_list` must equal `sum_total`: a number, or a column whose
    sum is taken. Per group with group_by. Null sums (no rows, all null) pass.
#}
{% test expect_multicolumn_sum_to_equal(model, column_list, sum_total, group_by=none, row_condition=none) %}
    {{ return(adapter.dispatch('test_expect_multicolumn_sum_to_equal', 'dbt_expectations')(model, column_list, sum_total, group_by, row_condition)) }}
{% endtest %}

{% macro default__test_expect_multicolumn_sum_to_equal(model, column_list, sum_total, group_by, row_condition) %}
    {%- set sums = [] -%}
    {%- for column in column_list -%}{%- do sums.append('sum(' ~ column ~ ')') -%}{%- endfor -%}
    {%- set total = sum_total if sum_total is number else 'sum(' ~ sum_total ~ ')' -%}
    {{ dbt_expectations._expect_aggregate(model, sums | join(' + ') ~ ' = ' ~ total, group_by, row_condition) }}
{% endmacro %}

{#
    `expression` followed by `test_condition` must be true: for every row when it is a row
    expression, once for an aggregate, per group with group_by_columns. A null result passes.
#}
{% test expression_is_true(model, expression, test_condition='= true', group_by_columns=none, row_condition=none) %}
    {{ return(adapter.dispatch('test_expression_is_true', 'dbt_expectations')(model, expression, test_condition, group_by_columns, row_condition)) }}
{% endtest %}

{% macro default__test_expression_is_true(model, expression, test_condition, group_by_columns, row_condition) %}
    {{ dbt_expectations._expect_aggregate(model, expression, group_by_columns, row_condition, test_condition) }}
{% endmacro %}
