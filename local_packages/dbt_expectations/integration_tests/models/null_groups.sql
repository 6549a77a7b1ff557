-- The numbers seed with group y as a null key.
select
    id,
    value,
    case when grp = 'y' then null else grp end as grp
from {{ ref('numbers') }}
