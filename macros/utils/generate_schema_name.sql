{#
    Use the folder's schema name as-is (`staging`, `features`, ...) instead of dbt's default
    `<target_schema>_<custom>`, so one DuckDB file reads like the layer diagram.
#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
