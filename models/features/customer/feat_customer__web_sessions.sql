{{ config(unique_key='customer_id') }}
{#
    Web sessions per customer, point in time: one row per version of a session, valid from
    known_at until superseded_at, so a cutoff sees exactly the sessions of the page views
    loaded by then (see the web_session_versions macro).
#}
-- depends_on: {{ ref('base_shop__web_events') }}
with

web_events as (
    select * from {{ ref('stg_shop__web_events') }}
    {%- if is_incremental() %}
    -- incremental by customer: every session of a customer with a page view loaded in the
    -- batch is recomputed from all of the customer's views (see the changed_keys macro)
    where customer_id in (
        {{ trainset.changed_keys(ref('base_shop__web_events'), 'customer_id') }}
    )
    {%- endif %}
),

page_views as (
    select
        customer_id,
        event_id,
        event_at,
        loaded_at as known_at,
        page
    from web_events
),

session_versions as (
    {{ trainset.web_session_versions('page_views', var('session_gap_minutes')) }}
)

select * from session_versions
