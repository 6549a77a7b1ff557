{#
    The query shapes every expectation is built from. Each returns the rows that violate the
    expectation, so dbt counts failures. A check whose expression is null (no rows to
    aggregate, a null value) passes, as in the original package.
#}

{# Rows of `model` that satisfy `row_condition` (all rows when none), as a subquery. #}
{% macro _expectations_rows(model, row_condition=none) -%}
    (select * from {{ model }}{% if row_condition %} where {{ row_condition }}{% endif %})
{%- endmacro %}

{# The rows of `model` (after `row_condition`) for which `condition` is false. #}
{% macro _expect_rows(model, condition, row_condition=none) -%}
    select *
    from {{ dbt_expectations._expectations_rows(model, row_condition) }} as expectation_rows
    where not ({{ condition }})
{%- endmacro %}

{#
    `expression` computed once over the rows (or once per `group_by` group), failing where
    `expression test_condition` is false. With no rows and no group_by, an aggregate such as
    avg() is null and passes, and count(*) is 0 and is compared; with group_by there is no
    group to fail.
#}
{% macro _expect_aggregate(model, expression, group_by=none, row_condition=none, test_condition='= true') -%}
    select *
    from (
        select
            {%- for column in group_by or [] %}
            {{ column }},
            {%- endfor %}
            {{ expression }} as expression
        from {{ dbt_expectations._expectations_rows(model, row_condition) }} as expectation_rows
        {%- if group_by %}
        group by {{ group_by | join(', ') }}
        {%- endif %}
    ) as grouped_expression
    where not (expression {{ test_condition }})
{%- endmacro %}

{# The boolean `expression` within [min_value, max_value] (open bounds with `strictly`). #}
{% macro _between_condition(expression, min_value, max_value, strictly) -%}
    {%- if min_value is none and max_value is none -%}
        {{ exceptions.raise_compiler_error(
            "A range expectation needs min_value, max_value or both; got neither for `"
            ~ expression | trim ~ "`."
        ) }}
    {%- endif -%}
    {%- set operator = '' if strictly else '=' -%}
    (1 = 1
    {%- if min_value is not none %} and {{ expression | trim }} >{{ operator }} {{ min_value }}{% endif %}
    {%- if max_value is not none %} and {{ expression | trim }} <{{ operator }} {{ max_value }}{% endif %})
{%- endmacro %}

{# An aggregate `expression` per group within [min_value, max_value]. #}
{% macro _expect_aggregate_between(
    model, expression, min_value=none, max_value=none, group_by=none, row_condition=none, strictly=false
) -%}
    {{ dbt_expectations._expect_aggregate(
        model,
        dbt_expectations._between_condition(expression, min_value, max_value, strictly),
        group_by,
        row_condition,
    ) }}
{%- endmacro %}

{#
    `expression` over `model` against `compare_expression` over `compare_model`, per group
    (groups matched by position of `group_by` / `compare_group_by`; null keys match each
    other). A group on one side only compares with 0. Fails where the absolute difference
    exceeds `tolerance`, or, with `tolerance_percent`, where it exceeds that share of the
    model's value (a non-zero difference from a zero model value always fails).
    compare_expression, compare_group_by and compare_row_condition default to the model's.
#}
{% macro _expect_equal_aggregates(
    model, expression, compare_model, compare_expression=none, group_by=none, compare_group_by=none,
    row_condition=none, compare_row_condition=none, tolerance=0.0, tolerance_percent=none
) -%}
    {%- set compare_expression = compare_expression or expression -%}
    {%- set compare_group_by = compare_group_by or group_by -%}
    {%- set compare_row_condition = compare_row_condition or row_condition -%}
    {%- set group_by = group_by or [] -%}
    {%- set compare_group_by = compare_group_by or [] -%}
    {%- if group_by | length != compare_group_by | length -%}
        {{ exceptions.raise_compiler_error(
            "group_by " ~ group_by ~ " and compare_group_by " ~ compare_group_by
            ~ " must name the same number of columns."
        ) }}
    {%- endif -%}
    with

    model_side as (
        select
            {%- for column in group_by %}
            {{ column }} as group_{{ loop.index }},
            {%- endfor %}
            {{ expression }} as expression
        from {{ dbt_expectations._expectations_rows(model, row_condition) }} as model_rows
        {%- if group_by %}
        group by {{ group_by | join(', ') }}
        {%- endif %}
    ),

    compare_side as (
        select
            {%- for column in compare_group_by %}
            {{ column }} as group_{{ loop.index }},
            {%- endfor %}
            {{ compare_expression }} as expression
        from {{ dbt_expectations._expectations_rows(compare_model, compare_row_condition) }} as compare_rows
        {%- if compare_group_by %}
        group by {{ compare_group_by | join(', ') }}
        {%- endif %}
    ),

    {%- if group_by %}
    group_keys as (
        {#- union (not union all) de-duplicates keys and treats null keys as equal #}
        select {% for column in group_by %}group_{{ loop.index }}{{ ', ' if not loop.last }}{% endfor %} from model_side
        union
        select {% for column in group_by %}group_{{ loop.index }}{{ ', ' if not loop.last }}{% endfor %} from compare_side
    ),
    {%- endif %}

    compared as (
        select
            {%- for column in group_by %}
            group_keys.group_{{ loop.index }},
            {%- endfor %}
            model_side.expression,
            compare_side.expression as compare_expression,
            abs(coalesce(model_side.expression, 0) - coalesce(compare_side.expression, 0))
                as expression_difference
        {%- if group_by %}
        from group_keys
        {%- for side in ['model_side', 'compare_side'] %}
        left join {{ side }}
            on
            {%- for column in group_by %}
            {{ 'and ' if not loop.first }}{{ side }}.group_{{ loop.index }} is not distinct from group_keys.group_{{ loop.index }}
            {%- endfor %}
        {%- endfor %}
        {%- else %}
        from model_side
        cross join compare_side
        {%- endif %}
    ),

    scored as (
        select
            *,
            case
                when expression_difference = 0 then 0
                else expression_difference / nullif(abs(coalesce(expression, 0)) * 1.0, 0)
            end as expression_difference_percent
        from compared
    )

    select *
    from scored
    where
        {%- if tolerance_percent is not none %}
        expression_difference_percent is null or expression_difference_percent > {{ tolerance_percent }}
        {%- else %}
        expression_difference > {{ tolerance }}
        {%- endif %}
{%- endmacro %}

{# A value of `value_set` as a SQL literal: quoted (quotes doubled) or as written. #}
{% macro _literal(value, quote_values=true) -%}
    {%- if quote_values -%}'{{ value | string | replace("'", "''") }}'{%- else -%}{{ value }}{%- endif -%}
{%- endmacro %}

{% macro _literal_list(value_set, quote_values=true) -%}
    {%- if not value_set -%}
        {{ exceptions.raise_compiler_error("value_set must be a non-empty list; got " ~ value_set ~ ".") }}
    {%- endif -%}
    {%- for value in value_set -%}
        {{ dbt_expectations._literal(value, quote_values) }}{{ ', ' if not loop.last }}
    {%- endfor -%}
{%- endmacro %}

{# Column names of a relation, each passed through the Jinja filter `transform` (upper, lower). #}
{% macro _column_names(model, transform='upper') -%}
    {%- set names = adapter.get_columns_in_relation(model) | map(attribute='name') | map(transform) | list -%}
    {{ return(names) }}
{%- endmacro %}

{# A one-column result of the given strings that is empty when `names` is empty. #}
{% macro _string_rows(column_name, names) -%}
    select *
    from (
        select cast(null as {{ dbt.type_string() }}) as {{ column_name }}
        {%- for name in names %}
        union all select '{{ name | replace("'", "''") }}'
        {%- endfor %}
    ) as listed
    where {{ column_name }} is not null
{%- endmacro %}

{#
    The time zone of "now", from var('dbt_date:time_zone') as in the original package, which
    reads it through dbt-date. A missing var is a compile error, as there.
#}
{% macro _time_zone() -%}
    {%- set time_zone = var('dbt_date:time_zone', none) -%}
    {%- if time_zone is none and execute -%}
        {{ exceptions.raise_compiler_error(
            "dbt_expectations: the var 'dbt_date:time_zone' is not set. Add it under `vars:` in "
            ~ "dbt_project.yml (for example \"dbt_date:time_zone\": UTC); tests that compare with "
            ~ "the current time read it."
        ) }}
    {%- endif -%}
    {{ return(time_zone or 'UTC') }}
{%- endmacro %}

{# The current time as a timestamp without time zone, in var('dbt_date:time_zone'). #}
{% macro now() -%}
    {{ return(dbt_expectations.current_timestamp_in(dbt_expectations._time_zone())) }}
{%- endmacro %}

{% macro current_timestamp_in(time_zone) -%}
    {{ return(adapter.dispatch('current_timestamp_in', 'dbt_expectations')(time_zone)) }}
{%- endmacro %}

{% macro default__current_timestamp_in(time_zone) -%}
    cast(current_timestamp at time zone '{{ time_zone }}' as {{ dbt.type_timestamp() }})
{%- endmacro %}

{% macro duckdb__current_timestamp_in(time_zone) -%}
    cast(timezone('{{ time_zone }}', current_timestamp) as timestamp)
{%- endmacro %}

{% macro quantile(column, quantile) -%}
    {{ return(adapter.dispatch('quantile', 'dbt_expectations')(column, quantile)) }}
{%- endmacro %}

{% macro default__quantile(column, quantile) -%}
    percentile_cont({{ quantile }}) within group (order by {{ column }})
{%- endmacro %}

{% macro duckdb__quantile(column, quantile) -%}
    quantile_cont({{ column }}, {{ quantile }})
{%- endmacro %}

{% macro median(column) -%}
    {{ return(dbt_expectations.quantile(column, 0.5)) }}
{%- endmacro %}

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
