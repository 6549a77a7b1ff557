{#
    The landing folder is named when dbt executes, never while it parses.

    The `shop` source declares its folder as `landing_dir: "${TRAINSET_LANDING_DIR:-data/landing}"`
    (_shop__sources.yml): a reference to an environment variable, with its default, kept as
    written in the saved parse. dbt saves its parse of the project with every value a YAML file
    or a model read from the environment while parsing, and parses the files that read one
    again whenever that value changes: a folder read while parsing made every build of another
    landing folder parse the sources and everything that reads them again (3 s more per dbt
    start). These macros put the folder in when the SQL is compiled for execution, so compiled
    SQL still names the absolute folder the build read.

    expand_environment(text): `text` with each `${NAME}` or `${NAME:-default}` replaced by that
    environment variable (or the default when it is not set); unchanged while parsing.
#}
{% macro expand_environment(text) -%}
    {%- if not execute or text is none or '${' not in text -%}
        {{ return(text) }}
    {%- endif -%}
    {%- set expanded = namespace(text=text) -%}
    {%- for match in modules.re.finditer('\\$\\{(\\w+)(?::-([^}]*))?\\}', text) -%}
        {%- if match.group(2) is none -%}
            {%- set value = env_var(match.group(1)) -%}
        {%- else -%}
            {%- set value = env_var(match.group(1), match.group(2)) -%}
        {%- endif -%}
        {%- set expanded.text = expanded.text | replace(match.group(0), value) -%}
    {%- endfor -%}
    {{ return(expanded.text) }}
{%- endmacro %}

{#
    with_landing_folder(relation): a source relation that reads files (DuckDB's
    `external_location`) with its landing folder expanded; any other relation unchanged.
#}
{% macro with_landing_folder(relation) -%}
    {%- if execute and relation.external is defined and relation.external -%}
        {{ return(relation.incorporate(external=trainset.expand_environment(relation.external))) }}
    {%- endif -%}
    {{ return(relation) }}
{%- endmacro %}

{#
    source(): dbt's own, with the landing folder expanded (every model, test and macro that
    reads a source goes through it).
#}
{% macro source(source_name, table_name) -%}
    {{ return(trainset.with_landing_folder(builtins.source(source_name, table_name))) }}
{%- endmacro %}

{#
    `dbt source freshness` builds the source relation itself, without source(): DuckDB's
    freshness query reads the expanded folder too.
#}
{% macro duckdb__collect_freshness(source, loaded_at_field, filter) -%}
    {{ return(dbt.default__collect_freshness(trainset.with_landing_folder(source), loaded_at_field, filter)) }}
{%- endmacro %}
