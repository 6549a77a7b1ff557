{#
    Seeds on Spark: the seed YAML declares text columns as `varchar`, which Spark accepts only
    with a length. `varchar` becomes Spark's `string` (the same unbounded text) before
    dbt-spark creates the seed table; every other declared type is passed through.
#}
{% macro spark__create_csv_table(model, agate_table) -%}
    {%- set declared = model['config'].get('column_types', {}) -%}
    {%- set spark_types = {} -%}
    {%- for column, type in declared.items() -%}
        {%- do spark_types.update({column: trainset.spark_type(type)}) -%}
    {%- endfor -%}
    {%- do model['config'].update({'column_types': spark_types}) -%}
    {{ return(dbt.spark__create_csv_table(model, agate_table)) }}
{%- endmacro %}


{#
    Seed rows on Spark as one `insert ... values` of SQL literals, each text escaped for
    Spark's string literals (backslash, then quote), so values such as "Côte d'Ivoire" load
    as they are written in the CSV. Numbers and booleans are written as literals, empty cells
    as null.
#}
{% macro spark__load_csv_rows(model, agate_table) -%}
    {%- set rows = [] -%}
    {%- for row in agate_table.rows -%}
        {%- set values = [] -%}
        {%- for value in row -%}
            {%- if value is none -%}
                {%- do values.append('null') -%}
            {%- elif value is string -%}
                {%- do values.append("'" ~ value.replace('\\', '\\\\').replace("'", "\\'") ~ "'") -%}
            {%- elif value is sameas true or value is sameas false -%}
                {%- do values.append(value | string | lower) -%}
            {%- else -%}
                {%- do values.append(value | string) -%}
            {%- endif -%}
        {%- endfor -%}
        {%- do rows.append('(' ~ values | join(', ') ~ ')') -%}
    {%- endfor -%}
    {%- set sql = 'insert into ' ~ this.render() ~ ' values ' ~ rows | join(', ') -%}
    {%- if rows -%}
        {%- call statement('_') -%}{{ sql }}{%- endcall -%}
    {%- endif -%}
    {{ return(sql) }}
{%- endmacro %}
