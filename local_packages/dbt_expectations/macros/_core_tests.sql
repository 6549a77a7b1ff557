{#
    Core dbt-expectations tests used by the trainset project: same names, arguments, defaults
    and edge behaviour as the hub package (nulls pass range tests and fail set membership).
    Each returns the failing rows, so dbt counts failures.
#}

{% macro _expectations_where(row_condition) -%}
    {%- if row_condition %} where {{ row_condition }}{% endif -%}
{%- endmacro %}

{% test expect_column_values_to_be_between(
    model, column_name, min_value=none, max_value=none, row_condition=none, strictly=false
) %}
    {{ return(adapter.dispatch('test_expect_column_values_to_be_between', 'dbt_expectations')(model, column_name, min_value, max_value, row_condition, strictly)) }}
{% endtest %}

{% macro default__test_expect_column_values_to_be_between(model, column_name, min_value, max_value, row_condition, strictly) %}
    {%- if min_value is none and max_value is none -%}
        {{ exceptions.raise_compiler_error("expect_column_values_to_be_between needs min_value or max_value") }}
    {%- endif -%}
    {%- set low = '>' if strictly else '>=' -%}
    {%- set high = '<' if strictly else '<=' -%}
    select *
    from (select * from {{ model }}{{ dbt_expectations._expectations_where(row_condition) }}) as expectation_rows
    where {{ column_name }} is not null
        and not (
            1 = 1
            {%- if min_value is not none %} and {{ column_name }} {{ low }} {{ min_value }}{% endif %}
            {%- if max_value is not none %} and {{ column_name }} {{ high }} {{ max_value }}{% endif %}
        )
{% endmacro %}

{% test expect_column_values_to_be_in_set(model, column_name, value_set, quote_values=true, row_condition=none) %}
    {{ return(adapter.dispatch('test_expect_column_values_to_be_in_set', 'dbt_expectations')(model, column_name, value_set, quote_values, row_condition)) }}
{% endtest %}

{% macro default__test_expect_column_values_to_be_in_set(model, column_name, value_set, quote_values, row_condition) %}
    select *
    from (select * from {{ model }}{{ dbt_expectations._expectations_where(row_condition) }}) as expectation_rows
    where {{ column_name }} is null
        or {{ column_name }} not in (
            {%- for value in value_set -%}
            {%- if quote_values -%}'{{ value }}'{%- else -%}{{ value }}{%- endif -%}
            {{- ', ' if not loop.last -}}
            {%- endfor -%}
        )
{% endmacro %}

{% test expect_compound_columns_to_be_unique(
    model, column_list, quote_columns=false, ignore_row_if='all_values_are_missing', row_condition=none
) %}
    {{ return(adapter.dispatch('test_expect_compound_columns_to_be_unique', 'dbt_expectations')(model, column_list, quote_columns, ignore_row_if, row_condition)) }}
{% endtest %}

{% macro default__test_expect_compound_columns_to_be_unique(model, column_list, quote_columns, ignore_row_if, row_condition) %}
    {%- set columns = [] -%}
    {%- for column in column_list -%}
        {%- do columns.append(adapter.quote(column) if quote_columns else column) -%}
    {%- endfor -%}
    {%- set joiner = ' and ' if ignore_row_if == 'any_value_is_missing' else ' or ' -%}
    select {{ columns | join(', ') }}, count(*) as duplicate_count
    from (select * from {{ model }}{{ dbt_expectations._expectations_where(row_condition) }}) as expectation_rows
    where
        {%- for column in columns %}
        {{ joiner.strip() if not loop.first }} {{ column }} is not null
        {%- endfor %}
    group by {{ columns | join(', ') }}
    having count(*) > 1
{% endmacro %}

{% test expect_column_pair_values_A_to_be_greater_than_B(
    model, column_A, column_B, or_equal=false, row_condition=none
) %}
    {{ return(adapter.dispatch('test_expect_column_pair_values_A_to_be_greater_than_B', 'dbt_expectations')(model, column_A, column_B, or_equal, row_condition)) }}
{% endtest %}

{% macro default__test_expect_column_pair_values_A_to_be_greater_than_B(model, column_A, column_B, or_equal, row_condition) %}
    select *
    from (select * from {{ model }}{{ dbt_expectations._expectations_where(row_condition) }}) as expectation_rows
    where not ({{ column_A }} {{ '>=' if or_equal else '>' }} {{ column_B }})
{% endmacro %}

{% test expect_table_row_count_to_be_between(
    model, min_value=none, max_value=none, group_by=none, row_condition=none, strictly=false
) %}
    {{ return(adapter.dispatch('test_expect_table_row_count_to_be_between', 'dbt_expectations')(model, min_value, max_value, group_by, row_condition, strictly)) }}
{% endtest %}

{% macro default__test_expect_table_row_count_to_be_between(model, min_value, max_value, group_by, row_condition, strictly) %}
    {{ dbt_expectations._expect_aggregate_between(
        model, 'count(*)', min_value, max_value, group_by, row_condition, strictly
    ) }}
{% endmacro %}

{% test expect_table_row_count_to_equal_other_table(
    model, compare_model, factor=1, row_condition=none, compare_row_condition=none
) %}
    {{ return(adapter.dispatch('test_expect_table_row_count_to_equal_other_table', 'dbt_expectations')(model, compare_model, factor, row_condition, compare_row_condition)) }}
{% endtest %}

{% macro default__test_expect_table_row_count_to_equal_other_table(model, compare_model, factor, row_condition, compare_row_condition) %}
    select model_rows, compare_rows
    from (
        select
            (select count(*) from {{ model }}{{ dbt_expectations._expectations_where(row_condition) }}) as model_rows,
            (select count(*) from {{ compare_model }}{{ dbt_expectations._expectations_where(compare_row_condition) }})
                as compare_rows
    ) as counts
    where model_rows <> compare_rows * {{ factor }}
{% endmacro %}

{% test expect_table_columns_to_match_set(model, column_list, transform='upper') %}
    {{ return(adapter.dispatch('test_expect_table_columns_to_match_set', 'dbt_expectations')(model, column_list, transform)) }}
{% endtest %}

{% macro default__test_expect_table_columns_to_match_set(model, column_list, transform) %}
    {%- if execute -%}
        {%- set relation_columns = adapter.get_columns_in_relation(model) | map(attribute='name') | list -%}
    {%- else -%}
        {%- set relation_columns = [] -%}
    {%- endif -%}
    {%- set actual = [] -%}
    {%- for column in relation_columns -%}{%- do actual.append(column | upper if transform == 'upper' else column | lower) -%}{%- endfor -%}
    {%- set expected = [] -%}
    {%- for column in column_list -%}{%- do expected.append(column | upper if transform == 'upper' else column | lower) -%}{%- endfor -%}
    {%- set mismatched = [] -%}
    {%- for column in actual -%}{%- if column not in expected -%}{%- do mismatched.append(column) -%}{%- endif -%}{%- endfor -%}
    {%- for column in expected -%}{%- if column not in actual -%}{%- do mismatched.append(column) -%}{%- endif -%}{%- endfor -%}
    select * from (
        select cast(null as varchar) as mismatched_column
        {%- for column in mismatched %}
        union all select '{{ column }}'
        {%- endfor %}
    ) as mismatches
    where mismatched_column is not null
{% endmacro %}
