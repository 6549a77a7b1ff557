{#
    Incremental batches by key: an incremental model recomputes every row of each key (an
    order, a customer, a product) that has a row loaded in the batch, and dbt's delete+insert
    replaces that key's rows. Each incremental model's windows are partitioned by its key, so
    recomputing a key whole from all of its staged rows is exact: a late row, a correction (a
    new order version, which also ends the previous version) or a re-delivered row recomputes
    its key, and nothing else moves.

    The batch holds the keys with a row loaded (`loaded_at`, in the staging base, so a row
    that staging quarantines or collapses also counts) in [lower bound, upper bound):
    - lower bound: `var('incremental_since')` when given (`trainset build --since`,
      `trainset backfill`), else `var('incremental_watermark')` (the newest load time of the
      last passed build, set by `trainset build`), else the newest `known_at` of the model
      itself (a plain `dbt build`); the last two minus `var('incremental_lookback_days')`, so
      a file that lands after a later day's file is still picked up;
    - upper bound: `var('incremental_until')` when given (`trainset backfill`), else none.
    Each bound is read with `incremental_bound` (below): `trainset build` hands them to dbt in
    an environment variable, a person running dbt by hand as `--vars`.
#}
{% macro incremental_lower_bound(watermark_column='known_at') -%}
    {%- set since = trainset.incremental_bound('incremental_since') -%}
    {%- set watermark = trainset.incremental_bound('incremental_watermark') -%}
    {%- set lookback = "interval '" ~ var('incremental_lookback_days') ~ " days'" -%}
    {%- if since -%}
        cast('{{ since }}' as timestamp)
    {%- elif watermark -%}
        cast('{{ watermark }}' as timestamp) - {{ lookback }}
    {%- else -%}
        (select max({{ watermark_column }}) from {{ this }}) - {{ lookback }}
    {%- endif -%}
{%- endmacro %}


{#
    The keys of the batch: `key_column` of the rows of `relation` loaded in the batch's bounds
    (see incremental_lower_bound). `relation` is a staging base with `loaded_at`.
#}
{% macro changed_keys(relation, key_column, loaded_at_column='loaded_at') -%}
    {%- set until = trainset.incremental_bound('incremental_until') -%}
    select distinct {{ key_column }}
    from {{ relation }}
    where
        {{ key_column }} is not null
        and {{ loaded_at_column }} >= {{ trainset.incremental_lower_bound() }}
        {%- if until %}
            and {{ loaded_at_column }} < cast('{{ until }}' as timestamp)
        {%- endif %}
{%- endmacro %}


{#
    The orders whose enriched lines a batch recomputes: an order with a line or a version
    loaded in the batch, and every order with a line of a product whose price history changed
    in the batch (a late price row moves the list price of lines ordered after it).
#}
{% macro order_item_batch_orders() -%}
    {{ trainset.changed_keys(ref('base_shop__order_items'), 'order_id') }}
    union
    {{ trainset.changed_keys(ref('base_shop__orders'), 'order_id') }}
    union
    select distinct order_id
    from {{ ref('stg_shop__order_items') }}
    where product_id in (
        {{ trainset.changed_keys(ref('base_shop__products'), 'product_id') }}
    )
{%- endmacro %}


{#
    incremental_bound(name): a batch bound (`incremental_since`, `incremental_until`,
    `incremental_watermark`): the dbt var when given (`dbt build --vars`), else the value in
    the JSON object of the TRAINSET_INCREMENTAL environment variable, which `trainset build`
    and `trainset backfill` set, else none. The variable is read only while executing: dbt
    parses its project again from scratch whenever `--vars` changes, and every build has
    other bounds, so bounds given as vars cost each build a full parse (see BOUNDS_VARIABLE in
    python/trainset/dbt.py).
#}
{% macro incremental_bound(name) -%}
    {%- set given = var(name, none) -%}
    {%- if given is not none or not execute -%}
        {{ return(given) }}
    {%- endif -%}
    {{ return(fromjson(env_var('TRAINSET_INCREMENTAL', '{}')).get(name)) }}
{%- endmacro %}
