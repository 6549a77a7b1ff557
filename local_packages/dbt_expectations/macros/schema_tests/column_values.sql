{#
    Row-level expectations on one column. Nulls pass range, comparison, regex and
    not-in-set checks and are ignored by uniqueness; they fail set membership.
#}

{% test expect_column_values_to_be_between(
    model, column_name, min_value=none, max_value=none, row_condition=none, strictly=false
) %}
    {{ return(adapter.dispatch('test_expect_column_values_to_be_between', 'dbt_expectations')(model, column_name, min_value, max_value, row_condition, strictly)) }}
{% endtest %}

{% macro default__test_expect_column_values_to_be_between(model, column_name, min_value, max_value, row_condition, strictly) %}
    {{ dbt_expectations._expect_rows(
        model, dbt_expectations._between_condition(column_name, min_value, max_value, strictly), row_condition
    ) }}
{% endmacro %}

{% test expect_column_values_to_not_be_null(model, column_name, row_condition=none) %}
    {{ return(adapter.dispatch('test_expect_column_values_to_not_be_null', 'dbt_expectations')(model, column_name, row_condition)) }}
{% endtest %}

{% macro default__test_expect_column_values_to_not_be_null(model, column_name, row_condition) %}
    {{ dbt_expectations._expect_rows(model, column_name ~ ' is not null', row_condition) }}
{% endmacro %}

{% test expect_column_values_to_be_in_set(model, column_name, value_set, quote_values=true, row_condition=none) %}
    {{ return(adapter.dispatch('test_expect_column_values_to_be_in_set', 'dbt_expectations')(model, column_name, value_set, quote_values, row_condition)) }}
{% endtest %}

{% macro default__test_expect_column_values_to_be_in_set(model, column_name, value_set, quote_values, row_condition) %}
    select *
    from {{ dbt_expectations._expectations_rows(model, row_condition) }} as expectation_rows
    where {{ column_name }} is null
        or {{ column_name }} not in ({{ dbt_expectations._literal_list(value_set, quote_values) }})
{% endmacro %}

{% test expect_column_values_to_not_be_in_set(model, column_name, value_set, quote_values=true, row_condition=none) %}
    {{ return(adapter.dispatch('test_expect_column_values_to_not_be_in_set', 'dbt_expectations')(model, column_name, value_set, quote_values, row_condition)) }}
{% endtest %}

{% macro default__test_expect_column_values_to_not_be_in_set(model, column_name, value_set, quote_values, row_condition) %}
    select *
    from {{ dbt_expectations._expectations_rows(model, row_condition) }} as expectation_rows
    where {{ column_name }} in ({{ dbt_expectations._literal_list(value_set, quote_values) }})
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
    {{ dbt_expectations._expect_rows(
        model, dbt_expectations.regexp_matches(column_name, regex, is_raw, flags), row_condition
    ) }}
{% endmacro %}

{#
    Values ordered by `sort_column` (default: the column itself), within each group_by
    partition, must increase (strictly by default; by exactly `step` when given). Each value
    is compared with the row just before it; a null on either side passes, so a null breaks
    the chain rather than being skipped (the original's behaviour).
#}
{% test expect_column_values_to_be_increasing(
    model, column_name, sort_column=none, strictly=true, row_condition=none, group_by=none, step=none
) %}
    {{ return(adapter.dispatch('test_expect_column_values_to_be_increasing', 'dbt_expectations')(model, column_name, sort_column, strictly, row_condition, group_by, step)) }}
{% endtest %}

{% macro default__test_expect_column_values_to_be_increasing(model, column_name, sort_column, strictly, row_condition, group_by, step) %}
    {{ dbt_expectations._expect_monotonic(model, column_name, sort_column, strictly, row_condition, group_by, step, 'increasing') }}
{% endmacro %}

{# The mirror of expect_column_values_to_be_increasing; `step` is previous minus current. #}
{% test expect_column_values_to_be_decreasing(
    model, column_name, sort_column=none, strictly=true, row_condition=none, group_by=none, step=none
) %}
    {{ return(adapter.dispatch('test_expect_column_values_to_be_decreasing', 'dbt_expectations')(model, column_name, sort_column, strictly, row_condition, group_by, step)) }}
{% endtest %}

{% macro default__test_expect_column_values_to_be_decreasing(model, column_name, sort_column, strictly, row_condition, group_by, step) %}
    {{ dbt_expectations._expect_monotonic(model, column_name, sort_column, strictly, row_condition, group_by, step, 'decreasing') }}
{% endmacro %}

{% macro _expect_monotonic(model, column_name, sort_column, strictly, row_condition, group_by, step, direction) %}
    {%- set increasing = direction == 'increasing' -%}
    {%- set operator = ('>' if increasing else '<') ~ ('' if strictly else '=') -%}
    select *
    from (
        select
            {%- for column in group_by or [] %}
            {{ column }},
            {%- endfor %}
            {{ sort_column or column_name }} as sort_value,
            {{ column_name }} as current_value,
            lag({{ column_name }}) over (
                {%- if group_by %}partition by {{ group_by | join(', ') }} {% endif -%}
                order by {{ sort_column or column_name }}
            ) as previous_value
        from {{ dbt_expectations._expectations_rows(model, row_condition) }} as expectation_rows
    ) as ordered
    where previous_value is not null
        and not (
            current_value {{ operator }} previous_value
            {%- if step is not none %}
            and {{ '(current_value - previous_value)' if increasing else '(previous_value - current_value)' }} = {{ step }}
            {%- endif %}
        )
{% endmacro %}

{#
    The column's database type (as the adapter reports it, compared case-insensitively) must be
    one of `column_type_list`. A column missing from the relation fails.
#}
{% test expect_column_values_to_be_of_type(model, column_name, column_type) %}
    {{ return(adapter.dispatch('test_expect_column_values_to_be_in_type_list', 'dbt_expectations')(model, column_name, [column_type])) }}
{% endtest %}

{% test expect_column_values_to_be_in_type_list(model, column_name, column_type_list) %}
    {{ return(adapter.dispatch('test_expect_column_values_to_be_in_type_list', 'dbt_expectations')(model, column_name, column_type_list)) }}
{% endtest %}

{% macro default__test_expect_column_values_to_be_in_type_list(model, column_name, column_type_list) %}
    {%- set allowed = column_type_list | map('upper') | list -%}
    {%- set problems = [] -%}
    {%- if execute -%}
        {%- set matches = [] -%}
        {%- for column in adapter.get_columns_in_relation(model) -%}
            {%- if column.name | upper == column_name | upper -%}{%- do matches.append(column) -%}{%- endif -%}
        {%- endfor -%}
        {%- if not matches -%}
            {%- do problems.append(column_name ~ ': missing') -%}
        {%- elif matches[0].dtype | upper not in allowed -%}
            {%- do problems.append(column_name ~ ': ' ~ matches[0].dtype | upper) -%}
        {%- endif -%}
    {%- endif -%}
    {{ dbt_expectations._string_rows('column_type_problem', problems) }}
{% endmacro %}
