{#
    What the drift models compare, read from the dbt graph and the export folder, never from a
    second list.

    drift_feature_specs(model_name): one dict per feature column of a training model (a column
    with `meta.feature`): name, kind from its declared data type (numbers are numeric; text and
    booleans categorical), and the overrides of its `meta.drift` (method, threshold, severity).
    The severity defaults to the `drift_default_severity` var.

    drift_input_ctes(task): the `reference_rows` and `current_rows` CTEs of the drift models,
    after a `training` CTE (the built training set) in the calling model: the reference export,
    or no rows without one; the files of the `drift_current_path` var, or the training set.

    drift_reference(task): the Parquet file of the reference export: the `drift_reference_path`
    var (or the TRAINSET_DRIFT_REFERENCE_PATH environment variable) when set, else `<exports>/<task>/<version>/data.parquet` for the `drift_reference_version`
    var or, by default, the version named in `<exports>/<task>/LATEST` (the last accepted
    export). Returns {'path': ..., 'version': ...}, both none when there is no export yet.
#}
{% macro drift_feature_specs(model_name) -%}
    {%- set numeric_types = [
        'integer', 'int', 'bigint', 'smallint', 'tinyint', 'hugeint', 'double', 'double precision',
        'float', 'real', 'numeric', 'decimal',
    ] -%}
    {%- set specs = [] -%}
    {%- if execute -%}
        {%- set nodes = graph.nodes.values() | selectattr('resource_type', 'equalto', 'model')
            | selectattr('name', 'equalto', model_name) | list -%}
        {%- if nodes | length != 1 -%}
            {{ exceptions.raise_compiler_error("drift_feature_specs: no model named '" ~ model_name ~ "'") }}
        {%- endif -%}
        {%- for name, column in nodes[0].columns.items() -%}
            {%- set meta = {} -%}
            {%- do meta.update(column.meta or {}) -%}
            {%- do meta.update((column.config or {}).get('meta') or {}) -%}
            {%- if meta.get('feature') -%}
                {%- set declared = (column.data_type or '') | lower -%}
                {%- set base_type = declared.split('(')[0] | trim -%}
                {%- set drift = meta.get('drift') or {} -%}
                {%- set severity = drift.get('severity') or var('drift_default_severity') -%}
                {%- if severity not in ['warn', 'error'] -%}
                    {{ exceptions.raise_compiler_error(
                        "drift_feature_specs: " ~ model_name ~ "." ~ name ~ " has meta.drift.severity '"
                        ~ severity ~ "'; use warn or error") }}
                {%- endif -%}
                {%- do specs.append({
                    'name': name,
                    'kind': 'numeric' if base_type in numeric_types else 'categorical',
                    'method': drift.get('method') or 'auto',
                    'threshold': drift.get('threshold'),
                    'severity': severity,
                }) -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}
    {{ return(specs) }}
{%- endmacro %}

{#
    exports_dir(): the exports folder (TRAINSET_EXPORTS_DIR, default `exports`), read only when
    executing, like the landing folder (macros/utils/landing_folder.sql says why).
#}
{% macro exports_dir() -%}
    {{ return(trainset.expand_environment('${TRAINSET_EXPORTS_DIR:-exports}')) }}
{%- endmacro %}

{% macro drift_reference(task) -%}
    {%- if not execute -%}
        {{ return({'path': none, 'version': none}) }}
    {%- endif -%}
    {%- set version = trainset.drift_var('drift_reference_version') -%}
    {%- set reference_path = trainset.drift_var('drift_reference_path')
        or env_var('TRAINSET_DRIFT_REFERENCE_PATH', '') -%}
    {%- if reference_path -%}
        {{ return({'path': reference_path, 'version': version or 'file'}) }}
    {%- endif -%}
    {%- set task_dir = trainset.exports_dir() ~ '/' ~ task -%}
    {%- if not version -%}
        {%- set version = trainset.drift_latest_version(task_dir) -%}
    {%- endif -%}
    {%- if not version -%}
        {{ return({'path': none, 'version': none}) }}
    {%- endif -%}
    {{ return({'path': task_dir ~ '/' ~ version ~ '/data.parquet', 'version': version}) }}
{%- endmacro %}

{# The version named in `<task_dir>/LATEST`, or none when there is no such file. Spark SQL
   cannot ask whether a file exists without failing when it does not, so on Spark the reference
   is the one the vars name (`trainset drift` always names it). #}
{% macro drift_latest_version(task_dir) -%}
    {{ return(adapter.dispatch('drift_latest_version', 'trainset')(task_dir)) }}
{%- endmacro %}

{% macro default__drift_latest_version(task_dir) -%}
    {#- the bracket makes a glob, which matches nothing (instead of failing) when absent -#}
    {%- set latest = run_query("select content from read_text('" ~ task_dir ~ "/LATES[T]')") -%}
    {%- if latest.rows | length == 1 -%}
        {{ return(latest.rows[0][0] | trim) }}
    {%- endif -%}
    {{ return('') }}
{%- endmacro %}

{% macro spark__drift_latest_version(task_dir) -%}
    {{ return('') }}
{%- endmacro %}

{% macro drift_input_ctes(task) -%}
    {%- set reference = trainset.drift_reference(task) -%}
    {%- set current_path = trainset.drift_var('drift_current_path') -%}
reference_rows as (
    {%- if reference.path %}
        select * from {{ trainset.drift_read_parquet(reference.path) }}
    {%- else %}
        select * from training where false
    {%- endif %}
),

current_rows as (
    {%- if current_path %}
        select * from {{ trainset.drift_read_parquet(current_path) }}
    {%- else %}
        select * from training
    {%- endif %}
)
{%- endmacro %}

{#
    drift_shared_inputs(): on Spark, the names of the two tables that hold the inputs every
    statistic of `feature_drift` shares (the value counts, the method chosen per feature),
    beside the calling model; none elsewhere. Spark inlines every reference to a CTE, and
    these two are read by 16 CTEs of the statistics, so as CTEs Spark planned them 96 times
    over; as tables they are computed once (docs/scale-out.md).

    drift_shared_input_sql(task, model_name, part): the statement that writes one of them
    ('value_counts', then 'chosen', which reads the first), run as a pre-hook of the model.
#}
{% macro drift_shared_inputs() -%}
    {%- if target.type != 'spark' -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set prefix = this.schema ~ '.' ~ this.identifier -%}
    {{ return({'value_counts': prefix ~ '__value_counts', 'chosen': prefix ~ '__chosen'}) }}
{%- endmacro %}

{% macro drift_shared_input_sql(task, model_name, part) -%}
    {%- set shared = trainset.drift_shared_inputs() -%}
    {%- set features = trainset.drift_feature_specs(model_name) -%}
create table {{ shared[part] }} using parquet as
with

training as (
    select * from {{ ref(model_name) }}
),

{{ trainset.drift_input_ctes(task) }},

shared_input as (
    {{ trainset.feature_drift(
        'reference_rows', 'current_rows', features,
        shared={'value_counts': shared.value_counts} if part == 'chosen' else none,
        output=part,
    ) }}
)

select * from shared_input
{%- endmacro %}

{#
    drift_var(name): a drift input (`drift_reference_path`, `drift_reference_version`,
    `drift_current_path`) as text: the dbt var when given (`dbt build --vars`), else the value
    in the JSON object of the TRAINSET_DRIFT environment variable, which `trainset drift` sets,
    else ''. Like `incremental_bound`, read only while executing (the models read nothing of
    the environment at parse time), so the inputs of each comparison never make dbt parse the
    project again (a change of `--vars` makes it parse everything).
#}
{% macro drift_var(name) -%}
    {%- set given = var(name, '') -%}
    {%- if given or not execute -%}
        {{ return(given) }}
    {%- endif -%}
    {{ return(fromjson(env_var('TRAINSET_DRIFT', '{}')).get(name) or '') }}
{%- endmacro %}
