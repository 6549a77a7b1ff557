"""Brute-force web sessions at a cutoff: slow, plain, obviously right.

Only the page views known by the cutoff exist. They are ordered per customer by
(event_at, event_id); a gap strictly greater than the session gap starts a new session. A
session is effective at its last view. Timestamps are naive UTC datetimes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class View:
    event_id: int
    customer_id: int
    event_at: datetime
    known_at: datetime
    page: str = "home"


@dataclass(frozen=True)
class Session:
    customer_id: int
    first_event_id: int
    started_at: datetime
    effective_at: datetime
    page_view_count: int
    has_checkout: bool


def sessions_at(views: Iterable[View], cutoff_at: datetime, gap: timedelta) -> list[Session]:
    """The sessions of the views known at `cutoff_at`, every customer."""
    visible = sorted(
        (view for view in views if view.known_at <= cutoff_at),
        key=lambda view: (view.customer_id, view.event_at, view.event_id),
    )
    groups: list[list[View]] = []
    for view in visible:
        previous = groups[-1][-1] if groups else None
        if (
            previous is None
            or previous.customer_id != view.customer_id
            or view.event_at - previous.event_at > gap
        ):
            groups.append([view])
        else:
            groups[-1].append(view)
    return [
        Session(
            customer_id=group[0].customer_id,
            first_event_id=group[0].event_id,
            started_at=group[0].event_at,
            effective_at=group[-1].event_at,
            page_view_count=len(group),
            has_checkout=any(view.page == "checkout" for view in group),
        )
        for group in groups
    ]


def session_windows(
    views: Iterable[View],
    customer_id: int,
    cutoff_at: datetime,
    gap: timedelta,
    windows: tuple[int, ...] = (7, 30),
) -> dict[str, int]:
    """sessions_count_<N>d and page_views_sum_<N>d of one customer at a cutoff, for each
    window of N days: the sessions with cutoff_at - N days < effective_at <= cutoff_at."""
    own = [view for view in views if view.customer_id == customer_id]
    sessions = sessions_at(own, cutoff_at, gap)
    values = {}
    for days in windows:
        inside = [
            session
            for session in sessions
            if cutoff_at - timedelta(days=days) < session.effective_at <= cutoff_at
        ]
        values[f"sessions_count_{days}d"] = len(inside)
        values[f"page_views_sum_{days}d"] = sum(session.page_view_count for session in inside)
    return values
