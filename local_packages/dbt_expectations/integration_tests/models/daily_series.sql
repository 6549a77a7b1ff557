{#
    Forty daily rows per group up to today (n days ago, n = 0..39), relative to now in
    var('dbt_date:time_zone'), so the moving-window cases see the periods a live table would.
    Today's row (n = 0, the current, partial period) is huge in every column: a case that
    tested the current period would fail on it.
#}
with

offsets as (
    select * from {{ ref('offsets') }}
),

groups_ as (
    select 'a' as grp
    union all
    select 'b' as grp
),

rows_ as (
    select
        offsets.n,
        groups_.grp,
        cast(
            {{ dbt.dateadd('day', '-1 * offsets.n', dbt.date_trunc('day', dbt_expectations.now())) }}
            as {{ dbt.type_timestamp() }}
        ) as day,
        100 + offsets.n % 3 as base
    from offsets
    cross join groups_
)

select
    day,
    grp,
    case when n = 0 then 100000 else base end as steady,
    case when n = 0 then 100000 when n = 1 then 5000 else base end as spiked,
    case when n = 0 then 100000 when n = 20 then 5000 else base end as early_spike,
    case when n = 0 then 100000 when n = 3 then 0 else 1 + n % 2 end as with_zero,
    case
        when n = 0 then 100000
        when n = 1 and grp = 'a' then base + 500
        when n = 1 and grp = 'b' then base - 500 + 1000
        else base + case when grp = 'b' then 1000 else 0 end
    end as opposing
from rows_
