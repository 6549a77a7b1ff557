{#
    The few words the drift and profile macros spell differently per engine. Everything else in
    them is plain SQL that DuckDB, PostgreSQL and Spark read alike.

    drift_double(): the 8-byte float type (`double precision`; Spark says `double`).
    drift_materialized(): the hint that makes a CTE read many times be computed once
    (`materialized` on DuckDB and PostgreSQL; Spark has no such hint and plans the reuse itself).
    drift_numbers(stop): the integers 0 to stop as a column `i`.
    drift_gcd(a, b): the greatest common divisor of two integers (Spark has no `gcd`: the one of the
    commons-math library Spark ships).
    drift_exact_ks_size(): the largest sample size whose Kolmogorov-Smirnov p-value is counted
    exactly (the lattice paths of a recursive CTE, one step per value of the smaller sample).
    Spark runs each step of a recursive CTE as a job of its own and stops at 100 steps by
    default, so there every size takes the asymptotic distribution (`p_value_method` says so).
    drift_read_parquet(path): a relation over Parquet files (a file, a folder or a glob).
#}
{% macro drift_double() -%}
    {{ return(adapter.dispatch('drift_double', 'trainset')()) }}
{%- endmacro %}

{% macro default__drift_double() -%}
    {{ return('double precision') }}
{%- endmacro %}

{% macro spark__drift_double() -%}
    {{ return('double') }}
{%- endmacro %}

{% macro drift_materialized() -%}
    {{ return(adapter.dispatch('drift_materialized', 'trainset')()) }}
{%- endmacro %}

{% macro default__drift_materialized() -%}
    {{ return('materialized') }}
{%- endmacro %}

{% macro spark__drift_materialized() -%}
    {{ return('') }}
{%- endmacro %}

{% macro drift_numbers(stop) -%}
    {{ return(adapter.dispatch('drift_numbers', 'trainset')(stop)) }}
{%- endmacro %}

{% macro default__drift_numbers(stop) -%}
    select generate_series as i from generate_series(0, {{ stop }})
{%- endmacro %}

{% macro spark__drift_numbers(stop) -%}
    select cast(id as int) as i from range(0, {{ stop + 1 }})
{%- endmacro %}

{% macro drift_gcd(a, b) -%}
    {{ return(adapter.dispatch('drift_gcd', 'trainset')(a, b)) }}
{%- endmacro %}

{% macro default__drift_gcd(a, b) -%}
    gcd({{ a }}, {{ b }})
{%- endmacro %}

{% macro spark__drift_gcd(a, b) -%}
    cast(reflect(
        'org.apache.commons.math3.util.ArithmeticUtils', 'gcd', cast({{ a }} as bigint), cast({{ b }} as bigint)
    ) as bigint)
{%- endmacro %}

{% macro drift_exact_ks_size() -%}
    {{ return(adapter.dispatch('drift_exact_ks_size', 'trainset')()) }}
{%- endmacro %}

{% macro default__drift_exact_ks_size() -%}
    {{ return(10000) }}
{%- endmacro %}

{% macro spark__drift_exact_ks_size() -%}
    {{ return(0) }}
{%- endmacro %}

{% macro drift_read_parquet(path) -%}
    {{ return(adapter.dispatch('drift_read_parquet', 'trainset')(path)) }}
{%- endmacro %}

{% macro default__drift_read_parquet(path) -%}
    read_parquet('{{ path }}', union_by_name = true)
{%- endmacro %}

{% macro spark__drift_read_parquet(path) -%}
    parquet.`{{ path }}`
{%- endmacro %}

{#
    drift_instant_type(): the type of a UTC instant (`timestamptz`; Spark's `timestamp`,
    which in the UTC session the profile pins is the instant).

    drift_history_relation(folder): the Parquet files `trainset drift` recorded in `folder`
    as a relation, or '' when there are none. DuckDB lists them with `glob`, which lists none
    (instead of failing) when there are none. Spark cannot list a folder in SQL, and infers
    no schema from an empty one; it declares them as an external Parquet table beside the
    calling model, with the columns and types the calling model documents in its YAML
    (`data_type`), which reads an empty or absent folder as no rows.
#}
{% macro drift_instant_type() -%}
    {{ return(adapter.dispatch('drift_instant_type', 'trainset')()) }}
{%- endmacro %}

{% macro default__drift_instant_type() -%}
    {{ return('timestamptz') }}
{%- endmacro %}

{% macro spark__drift_instant_type() -%}
    {{ return('timestamp') }}
{%- endmacro %}

{% macro drift_history_relation(folder) -%}
    {{ return(adapter.dispatch('drift_history_relation', 'trainset')(folder)) }}
{%- endmacro %}

{% macro default__drift_history_relation(folder) -%}
    {%- if execute -%}
        {%- set found = run_query("select count(*) from glob('" ~ folder ~ "/*.parquet')") -%}
        {%- if found.rows[0][0] > 0 -%}
            {{ return("read_parquet('" ~ folder ~ "/*.parquet')") }}
        {%- endif -%}
    {%- endif -%}
    {{ return('') }}
{%- endmacro %}

{% macro spark__drift_history_relation(folder) -%}
    {%- if not execute -%}
        {{ return('') }}
    {%- endif -%}
    {%- set columns = [] -%}
    {%- for name, column in model.columns.items() -%}
        {%- if not column.data_type -%}
            {{ exceptions.raise_compiler_error(
                "drift_history_relation: column '" ~ name ~ "' of " ~ model.name
                ~ " has no data_type in its YAML; Spark declares the history files with it") }}
        {%- endif -%}
        {%- do columns.append(name ~ ' ' ~ trainset.spark_type(column.data_type)) -%}
    {%- endfor -%}
    {%- set table = this.schema ~ '.' ~ this.identifier ~ '__files' -%}
    {%- do run_query('create database if not exists ' ~ this.schema) -%}
    {%- do run_query('drop table if exists ' ~ table) -%}
    {%- do run_query(
        'create table ' ~ table ~ ' (' ~ columns | join(', ') ~ ')'
        ~ " using parquet options (path '" ~ folder ~ "', pathGlobFilter '*.parquet')"
    ) -%}
    {{ return(table) }}
{%- endmacro %}
