{#
    inline_cte: written between `as` and the body of a CTE
    (`checked as {{ trainset.inline_cte() }} (`), so that every reference to it runs its query
    again instead of sharing one result.

    DuckDB writes a CTE read more than once to a temporary table and reads it back. For a
    staging check over tens of millions of rows (a scan, a lookup join, a `case`) that costs
    more than running the check again, and the optimizer no longer pushes a read's column list
    and filters into it. `not materialized` there. Nothing on the other engines: Spark has no
    such clause, and PostgreSQL runs the portable classification, not measured with it.
#}
{% macro inline_cte() -%}
    {{ return(adapter.dispatch('inline_cte', 'trainset')()) }}
{%- endmacro %}

{% macro default__inline_cte() -%}
{%- endmacro %}

{% macro duckdb__inline_cte() -%}
    not materialized
{%- endmacro %}
