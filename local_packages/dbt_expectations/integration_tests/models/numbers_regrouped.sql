-- The numbers seed with row 3 moved from group y to group x: same total, different groups.
select
    id,
    value,
    case when id = 3 then 'x' else grp end as grp
from {{ ref('numbers') }}
