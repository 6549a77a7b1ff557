{#
    Event times relative to now in var('dbt_date:time_zone'): group a is recent (and has a
    future row), b is ten days old, c only has a future row.
#}
{%- set now = dbt_expectations.now() -%}
select 1 as id, 'a' as grp, cast({{ dbt.dateadd('hour', -2, now) }} as {{ dbt.type_timestamp() }}) as loaded_at
union all
select 2 as id, 'a' as grp, cast({{ dbt.dateadd('day', 10, now) }} as {{ dbt.type_timestamp() }}) as loaded_at
union all
select 3 as id, 'b' as grp, cast({{ dbt.dateadd('day', -10, now) }} as {{ dbt.type_timestamp() }}) as loaded_at
union all
select 4 as id, 'c' as grp, cast({{ dbt.dateadd('day', 5, now) }} as {{ dbt.type_timestamp() }}) as loaded_at
