{#
    Layer schemas (`staging`, `features`, ...) under the target's schema. With the default
    target schema `main` (one user's DuckDB file or Spark session) a layer keeps its bare name,
    so the database reads like the layer diagram; any other target schema prefixes it, as dbt's
    default does (`alice_staging`), so people sharing one server each build into their own.
#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- elif target.schema == 'main' -%}
        {{ custom_schema_name | trim }}
    {%- else -%}
        {{ target.schema }}_{{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
