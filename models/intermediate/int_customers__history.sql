{{ config(unique_key='customer_id') }}
{#
    Incremental by customer_id (the key its windows are partitioned by): a batch recomputes every
    row of each customer with a change loaded in the batch (see the changed_keys macro).
#}
-- depends_on: {{ ref('base_shop__customer_changes') }}
with

changes as (
    select * from {{ ref('stg_shop__customer_changes') }}
    {%- if is_incremental() %}
    where customer_id in (
        {{ trainset.changed_keys(ref('base_shop__customer_changes'), 'customer_id') }}
    )
    {%- endif %}
),

history as (
    select
        customer_id,
        change_id,
        plan,
        segment,
        country,
        changed_at as valid_from,
        lead(changed_at) over (
            partition by customer_id order by changed_at, change_id
        ) as valid_to,
        greatest(loaded_at, changed_at) as known_at
    from changes
)

select * from history
