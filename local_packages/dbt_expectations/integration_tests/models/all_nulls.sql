-- A column with no value at all.
select
    id,
    cast(null as {{ dbt.type_int() }}) as nothing
from {{ ref('numbers') }}
