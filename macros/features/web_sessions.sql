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
    views (moments; usually one per view). Each moment gives versions known from that moment
    until the next moment of the final session (superseded_at; null for the last):
    - a final session spanning at most gap_minutes, or whose views were loaded in their
      order, is one session at every moment (any subset of the first kind, any prefix of the
      second is connected), so its version at a moment is everything loaded so far: running
      aggregates in load order, one window pass, linear;
    - any other can fall apart while views are missing: at each moment its visible views
      are sessionized again, O(views x moments) for that final session; a session a later
      moment leaves unchanged keeps one row, from its first moment to the moment that
      changes it.
    Ties in event_at are ordered by event_id; ties in known_at form one moment.

    page_views: relation or CTE with customer_id, event_id, event_at, known_at and page.
    gap_minutes: the inactivity in minutes that ends a session.
#}
{% macro web_session_versions(page_views, gap_minutes) -%}
    {{ return(adapter.dispatch('web_session_versions', 'trainset')(page_views, gap_minutes)) }}
{%- endmacro %}


{# Portable: the first visible view of a growing session is found by its position, joined back. #}
{% macro default__web_session_versions(page_views, gap_minutes) -%}
    {{ trainset._web_session_versions(page_views, gap_minutes, first_by_arg_min=false) }}
{%- endmacro %}


{# DuckDB: arg_min finds the first visible view in the same window pass, without the join. #}
{% macro duckdb__web_session_versions(page_views, gap_minutes) -%}
    {{ trainset._web_session_versions(page_views, gap_minutes, first_by_arg_min=true) }}
{%- endmacro %}


{% macro _web_session_versions(page_views, gap_minutes, first_by_arg_min) -%}
{%- set gap = "interval '" ~ (gap_minutes | int) ~ " minutes'" %}
    with

    {{ trainset._web_session_final_sessions(page_views, gap) }},

    {{ trainset._web_session_moments(gap, first_by_arg_min) }},

    {{ trainset._web_session_short_versions(first_by_arg_min) }},

    {{ trainset._web_session_visible_sessions(gap) }},

    {{ trainset._web_session_long_versions() }},

    named_versions as (
        select * from short_versions
        union all
        select * from long_versions
    ),

    session_versions as (
        select
            customer_id,
            cast(customer_id as {{ dbt.type_string() }}) || '-' || cast(first_event_id as {{ dbt.type_string() }}) as session_id,
            effective_at,
            known_at,
            superseded_at,
            session_started_at,
            cast(page_view_count as integer) as page_view_count,
            {{ trainset.seconds_between('session_started_at', 'effective_at') }} as session_duration_seconds,
            has_checkout
        from named_versions
    )

    select * from session_versions
{%- endmacro %}


{# CTEs `session_views`, `final_breaks`, `final_sessions`: every view numbered in its
   customer's order and given its final session (the sessions of all views). `gap` is SQL:
   an interval literal. #}
{% macro _web_session_final_sessions(page_views, gap) -%}
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
            row_number() over customer_order as view_position,
            case
                when lag(event_at) over customer_order is null then 1
                when event_at > lag(event_at) over customer_order + {{ gap }} then 1
                else 0
            end as starts_final_session,
            coalesce(known_at < lag(known_at) over customer_order, false) as is_loaded_before_previous
        from session_views
        window customer_order as (partition by customer_id order by event_at, event_id)
    ),

    final_sessions as (
        select
            *,
            sum(starts_final_session) over (
                partition by customer_id
                order by view_position
                rows between unbounded preceding and current row
            ) as final_session
        from final_breaks
    )
{%- endmacro %}


{# CTEs `loaded_so_far`, `moments`: per load time of a final session, what it holds once
   every view loaded by then is visible, and whether it is one session at every moment
   (`is_single`). #}
{% macro _web_session_moments(gap, first_by_arg_min) -%}
{#- Per view, in load order within its final session: what its final session holds once
        this view and every view loaded before it are visible. The last view of each load
        time closes a moment; the next load time supersedes it. #}
    loaded_so_far as (
        select
            customer_id,
            final_session,
            known_at,
            lead(known_at) over load_order as next_known_at,
            count(*) over running as page_view_count,
            min(event_at) over running as session_started_at,
            max(event_at) over running as effective_at,
            bool_or(is_checkout) over running as has_checkout,
            {%- if first_by_arg_min %}
            arg_min(event_id, view_position) over running as first_event_id,
            {%- else %}
            min(view_position) over running as first_position,
            {%- endif %}
            max(event_at) over whole_session <= min(event_at) over whole_session + {{ gap }}
            or not bool_or(
                starts_final_session = 0 and is_loaded_before_previous
            ) over whole_session as is_single
        from final_sessions
        window
            load_order as (
                partition by customer_id, final_session
                order by known_at, view_position
            ),
            running as (
                partition by customer_id, final_session
                order by known_at, view_position
                rows between unbounded preceding and current row
            ),
            whole_session as (partition by customer_id, final_session)
    ),

    moments as (
        select
            *,
            next_known_at as superseded_at
        from loaded_so_far
        where next_known_at is null or next_known_at > known_at
    )
{%- endmacro %}


{# CTE `short_versions`: the versions of the final sessions that are one session at every
   moment, named by their first visible view. #}
{% macro _web_session_short_versions(first_by_arg_min) -%}
{#- A final session is one session at every moment when it spans at most the gap (any
        subset of it is then one session) or when its views were loaded in their order (the
        visible views are then a prefix of it): each moment's version is everything loaded so
        far. #}
    short_versions as (
        select
            moments.customer_id,
            {%- if first_by_arg_min %}
            moments.first_event_id,
            {%- else %}
            first_views.event_id as first_event_id,
            {%- endif %}
            moments.session_started_at,
            moments.effective_at,
            moments.page_view_count,
            moments.has_checkout,
            moments.known_at,
            moments.superseded_at
        from moments
        {%- if not first_by_arg_min %}
        inner join final_sessions as first_views
            on
                moments.customer_id = first_views.customer_id
                and moments.first_position = first_views.view_position
        {%- endif %}
        where moments.is_single
    )
{%- endmacro %}


{# CTEs `long_moments`, `visible_views`, `visible_breaks`, `visible_sessions`: the other
   final sessions sessionized again at each of their moments, from the views visible then. #}
{% macro _web_session_visible_sessions(gap) -%}
{#- Any other final session can fall apart while some of its views are missing: at each
        of its moments its visible views are sessionized again. #}
    long_moments as (
        select
            customer_id,
            final_session,
            known_at as moment_at,
            superseded_at as next_moment_at
        from moments
        where not is_single
    ),

    visible_views as (
        select
            long_moments.moment_at,
            long_moments.next_moment_at,
            final_sessions.customer_id,
            final_sessions.final_session,
            final_sessions.event_id,
            final_sessions.event_at,
            final_sessions.view_position,
            final_sessions.is_checkout
        from long_moments
        inner join final_sessions
            on
                long_moments.customer_id = final_sessions.customer_id
                and long_moments.final_session = final_sessions.final_session
                and final_sessions.known_at <= long_moments.moment_at
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
            order by view_position
        )
    ),

    visible_sessions as (
        select
            *,
            sum(starts_session) over (
                partition by customer_id, final_session, moment_at
                order by view_position
                rows between unbounded preceding and current row
            ) as session_number
        from visible_breaks
    )
{%- endmacro %}


{# CTEs `long_sessions`, `long_versions`: the sessions of each moment, one row per session
   kept from its first moment to the moment that changes it. #}
{% macro _web_session_long_versions() -%}
long_sessions as (
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
    long_versions as (
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
        from long_sessions
        group by
            customer_id,
            first_event_id,
            session_started_at,
            effective_at,
            page_view_count,
            has_checkout
    )
{%- endmacro %}
