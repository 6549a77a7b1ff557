{#
    web_session_versions: web sessions as they were known at every moment, so that a session
    can serve a cutoff exactly as the page views loaded by that cutoff form it.

    Contract: at any cutoff c, the rows with known_at <= c and (superseded_at null or
    superseded_at > c) are exactly the sessions of the page views with known_at <= c: the
    views of a customer ordered by (event_at, event_id), a new session wherever the gap to the
    previous view is strictly greater than gap_minutes (a gap of exactly gap_minutes stays in
    the session). A session is effective at its last view (effective_at), started at its first
    (session_started_at) and named by the customer and its first view (session_id).

    Method: removing views can only split sessions, never join views across a gap of the full
    history, so each session ever visible is a subset of one "final" session of all views.
    Within a final session the visible subset changes only at the distinct load times of its
    views (usually one per view). At each such moment the visible views of that final session
    are sessionized again; each resulting session is a version known from that moment until
    the next moment of its final session (superseded_at; null for the last). A session that
    a later moment leaves unchanged keeps one row, from its first moment to the moment that
    changes it. Cost: O(sum over final sessions of views x moments), linear while sessions
    are short or their views arrive together.

    page_views: relation or CTE with customer_id, event_id, event_at, known_at and page.
    gap_minutes: the inactivity in minutes that ends a session.
#}
{% macro web_session_versions(page_views, gap_minutes) -%}
    {{ return(adapter.dispatch('web_session_versions', 'trainset')(page_views, gap_minutes)) }}
{%- endmacro %}


{% macro default__web_session_versions(page_views, gap_minutes) -%}
    {%- set gap = "interval '" ~ (gap_minutes | int) ~ " minutes'" %}
    with

    session_views as (
        select
            customer_id,
            event_id,
            event_at,
            known_at,
            coalesce(page = 'checkout', false) as is_checkout
        from {{ page_views }}
    ),

    final_breaks as (
        select
            *,
            case
                when lag(event_at) over customer_order is null then 1
                when event_at > lag(event_at) over customer_order + {{ gap }} then 1
                else 0
            end as starts_final_session
        from session_views
        window customer_order as (partition by customer_id order by event_at, event_id)
    ),

    final_sessions as (
        select
            *,
            sum(starts_final_session) over (
                partition by customer_id
                order by event_at, event_id
                rows between unbounded preceding and current row
            ) as final_session
        from final_breaks
    ),

    moment_times as (
        select distinct
            customer_id,
            final_session,
            known_at as moment_at
        from final_sessions
    ),

    moments as (
        select
            customer_id,
            final_session,
            moment_at,
            lead(moment_at) over (
                partition by customer_id, final_session
                order by moment_at
            ) as next_moment_at
        from moment_times
    ),

    visible_views as (
        select
            moments.moment_at,
            moments.next_moment_at,
            final_sessions.customer_id,
            final_sessions.final_session,
            final_sessions.event_id,
            final_sessions.event_at,
            final_sessions.is_checkout
        from moments
        inner join final_sessions
            on
                moments.customer_id = final_sessions.customer_id
                and moments.final_session = final_sessions.final_session
                and final_sessions.known_at <= moments.moment_at
    ),

    visible_breaks as (
        select
            *,
            case
                when lag(event_at) over visible_order is null then 1
                when event_at > lag(event_at) over visible_order + {{ gap }} then 1
                else 0
            end as starts_session
        from visible_views
        window visible_order as (
            partition by customer_id, final_session, moment_at
            order by event_at, event_id
        )
    ),

    visible_sessions as (
        select
            *,
            sum(starts_session) over (
                partition by customer_id, final_session, moment_at
                order by event_at, event_id
                rows between unbounded preceding and current row
            ) as session_number
        from visible_breaks
    ),

    versions as (
        select
            customer_id,
            moment_at,
            next_moment_at,
            max(case when starts_session = 1 then event_id end) as first_event_id,
            min(event_at) as session_started_at,
            max(event_at) as effective_at,
            count(*) as page_view_count,
            bool_or(is_checkout) as has_checkout
        from visible_sessions
        group by customer_id, final_session, moment_at, next_moment_at, session_number
    ),

    {#- The views of a session only grow from one moment to the next, so one session kept by
        consecutive moments has the same first view, last view and view count throughout. #}
    merged_versions as (
        select
            customer_id,
            first_event_id,
            session_started_at,
            effective_at,
            page_view_count,
            has_checkout,
            min(moment_at) as known_at,
            case
                when count(next_moment_at) = count(*) then max(next_moment_at)
            end as superseded_at
        from versions
        group by
            customer_id,
            first_event_id,
            session_started_at,
            effective_at,
            page_view_count,
            has_checkout
    ),

    session_versions as (
        select
            customer_id,
            cast(customer_id as varchar) || '-' || cast(first_event_id as varchar) as session_id,
            effective_at,
            known_at,
            superseded_at,
            session_started_at,
            cast(page_view_count as integer) as page_view_count,
            cast(extract(epoch from effective_at - session_started_at) as double precision)
                as session_duration_seconds,
            has_checkout
        from merged_versions
    )

    select * from session_versions
{%- endmacro %}
