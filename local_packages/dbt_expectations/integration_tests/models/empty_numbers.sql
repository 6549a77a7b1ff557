-- The numbers seed with no rows: aggregates over nothing.
select * from {{ ref('numbers') }} where 1 = 0
