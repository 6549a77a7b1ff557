{#
    register_landing_sources: make the landing zone's files readable as the `shop` source.

    On DuckDB a source table is read straight from its files (`external_location` in
    _shop__sources.yml), so this does nothing. dbt-spark has no external locations: it reads a
    source as `<schema>.<table>`, so before a run each table of a source whose `meta`
    names a `landing_dir` is declared as an external Parquet table over its folder
    (`<landing_dir>/<table>/`, schemas merged across files as DuckDB's `union_by_name` does).
    Dropping such a table forgets the declaration, never the files; declaring it again picks
    up files that arrived since.
#}
{% macro register_landing_sources() -%}
    {{ return(adapter.dispatch('register_landing_sources', 'trainset')()) }}
{%- endmacro %}

{% macro default__register_landing_sources() -%}
{%- endmacro %}

{% macro spark__register_landing_sources() -%}
    {%- if execute -%}
        {%- set declared = [] -%}
        {%- for node in graph.sources.values() -%}
            {%- set landing_dir = trainset.expand_environment(
                node.config.get('meta', {}).get('landing_dir') or node.meta.get('landing_dir')
            ) -%}
            {%- if landing_dir -%}
                {%- set folder = landing_dir ~ '/' ~ node.identifier -%}
                {%- if node.schema not in declared -%}
                    {%- do run_query('create database if not exists ' ~ node.schema) -%}
                    {%- do declared.append(node.schema) -%}
                {%- endif -%}
                {%- do run_query('drop table if exists ' ~ node.schema ~ '.' ~ node.identifier) -%}
                {%- do run_query(
                    'create table ' ~ node.schema ~ '.' ~ node.identifier
                    ~ " using parquet options (path '" ~ folder ~ "', mergeSchema 'true')"
                ) -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}
{%- endmacro %}
