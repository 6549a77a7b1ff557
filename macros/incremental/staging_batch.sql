{#
    Staging takes each landing file once. The landing files of an appended table are never
    rewritten (`trainset build` rebuilds from scratch when one changes or goes away), so a
    build stages only the files no earlier build staged:
    - a staging base (`base_shop__<table>`) appends the rows of the files it has not read yet,
      each row with `landing_file`, its file's path under the landing folder
      (`<table>/<file>`);
    - a classified model (`stg_shop__<table>_classified`) classifies again, from all of their
      rows, the keys with a row in a file it has not classified yet and the keys whose
      reference checks (a known customer, order or product) now give another answer, and
      dbt's delete+insert replaces those keys' rows. Duplicates and conflicts are decided
      within a key and the reference checks row by row, so a key classified again from all of
      its rows is what a full build gives it, and every other key is unchanged.
    The valid rows (`stg_shop__<table>`) and the quarantine are views of the classified model.
#}

{#
    The rows of the landing files of `table` (a table of the `shop` source) with
    `landing_file`. On an incremental build, only the files the model (a staging base) has not
    read yet; with none, no row. Where the source is not a `read_parquet` of the landing
    folder (a unit test's fixture), the source's rows with a null `landing_file`.
#}
{% macro landing_rows(table) -%}
    {{ return(adapter.dispatch('landing_rows', 'trainset')(table)) }}
{%- endmacro %}

{% macro default__landing_rows(table) -%}
    (
        select
            *,
            cast(null as {{ dbt.type_string() }}) as landing_file
        from {{ source('shop', table) }}
    )
{%- endmacro %}

{# Spark reads a source as a table over its folder; the file name of each row is known. #}
{% macro spark__landing_rows(table) -%}
    (
        select
            *,
            regexp_extract(input_file_name(), '[^/]+/[^/]+$', 0) as landing_file
        from {{ source('shop', table) }}
    )
{%- endmacro %}

{% macro duckdb__landing_rows(table) -%}
    {%- set location = source('shop', table) | string -%}
    {%- set match = modules.re.match("^read_parquet\\('([^']+)'", location | trim) -%}
    {%- if not match -%}
        {{ return(trainset.default__landing_rows(table)) }}
    {%- endif -%}
    {%- set pattern = "'" ~ match.group(1) ~ "'" -%}
    {%- set files = pattern -%}
    {%- set nothing_new = false -%}
    {%- if execute and is_incremental() -%}
        {%- set unread = run_query(
            "select file from glob(" ~ pattern ~ ") "
            ~ "where regexp_extract(file, '[^/]+/[^/]+$') not in "
            ~ "(select distinct landing_file from " ~ this ~ " where landing_file is not null) "
            ~ "order by file"
        ).columns[0].values() -%}
        {%- if unread | length > 0 -%}
            {%- set quoted = [] -%}
            {%- for file in unread -%}
                {%- do quoted.append("'" ~ (file | replace("'", "''")) ~ "'") -%}
            {%- endfor -%}
            {%- set files = '[' ~ (quoted | join(', ')) ~ ']' -%}
        {%- else -%}
            {%- set nothing_new = true -%}
        {%- endif -%}
    {%- endif %}
    (
        select
            * exclude (filename),
            regexp_extract(filename, '[^/]+/[^/]+$') as landing_file
        from read_parquet({{ files }}, union_by_name = true, filename = true)
        {%- if nothing_new %}
        where false
        {%- endif %}
    )
{%- endmacro %}


{#
    The rows of `base_cte` (a CTE over a staging base) that an incremental classified model
    classifies again: every row of a file the model has not classified yet (rows with a null
    key among them), and every row of a key with such a row or named by `changed_keys_cte`
    (a CTE of keys whose reference checks changed; none when the table has no references).

    base_cte: the CTE reading the staging base.
    key_column: the column dbt's delete+insert replaces rows by (the record's key).
    changed_keys_cte: a CTE with `key_column`, or none.
#}
{% macro staging_batch(base_cte, key_column, changed_keys_cte=none) -%}
    select *
    from {{ base_cte }}
    where
        landing_file in (select new_files.landing_file from new_files)
        or {{ key_column }} in (
            select new_rows.{{ key_column }}
            from {{ base_cte }} as new_rows
            where new_rows.landing_file in (select new_files.landing_file from new_files)
            {%- if changed_keys_cte %}
            union all
            select {{ changed_keys_cte }}.{{ key_column }} from {{ changed_keys_cte }}
            {%- endif %}
        )
{%- endmacro %}


{# The CTE `new_files`: the landing files of `base_cte` the model has not classified yet. #}
{% macro new_landing_files(base_cte) -%}
new_files as (
    select distinct landing_file from {{ base_cte }}
    except
    select distinct landing_file from {{ this }}
)
{%- endmacro %}
