{#
    Declared types on Spark. The project's YAML declares text columns as `varchar` (model
    contracts, seeds), which Spark accepts only with a length; Spark's unbounded text type is
    `string`. `spark__cast` is what dbt uses to render a contract's declared types, so a
    contract checks `string` where the YAML says `varchar` or `text`, and `timestamp` (the UTC
    instant in the session's UTC zone) where it says `timestamptz`; every other type is passed
    through.
#}
{% macro spark_type(type) -%}
    {%- set declared = type | trim | lower -%}
    {%- if declared in ['varchar', 'text'] -%}
        {{ return('string') }}
    {%- elif declared == 'timestamptz' -%}
        {{ return('timestamp') }}
    {%- endif -%}
    {{ return(type) }}
{%- endmacro %}

{% macro spark__cast(field, type) -%}
    cast({{ field }} as {{ trainset.spark_type(type) }})
{%- endmacro %}
