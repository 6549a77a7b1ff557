"""Web sessions per customer: page views split where the gap exceeds `session_gap_minutes`.

Sessionization is a sequential scan that reads naturally in pandas. A session's
`effective_at` is its last page view and its `known_at` the latest load time of its views,
so a session can serve a cutoff only once every view in it had landed.
"""

import pandas as pd


def model(dbt, session):
    gap_minutes = int(dbt.config.get("session_gap_minutes") or 30)
    events = dbt.ref("stg_shop__web_events").df()

    events = events.sort_values(["customer_id", "event_at", "event_id"], kind="stable")
    same_customer = events["customer_id"].eq(events["customer_id"].shift())
    gap = events["event_at"] - events["event_at"].shift()
    starts_session = ~same_customer | (gap > pd.Timedelta(minutes=gap_minutes))
    events["session_number"] = (
        starts_session.astype("int64").groupby(events["customer_id"]).cumsum()
    )
    events["is_checkout"] = events["page"].eq("checkout")

    sessions = (
        events.groupby(["customer_id", "session_number"], sort=True)
        .agg(
            session_started_at=("event_at", "min"),
            effective_at=("event_at", "max"),
            known_at=("loaded_at", "max"),
            page_view_count=("event_id", "count"),
            has_checkout=("is_checkout", "max"),
        )
        .reset_index()
    )
    sessions["session_id"] = (
        sessions["customer_id"].astype("string") + "-" + sessions["session_number"].astype("string")
    )
    sessions["session_duration_seconds"] = (
        (sessions["effective_at"] - sessions["session_started_at"])
        .dt.total_seconds()
        .astype("float64")
    )
    columns = [
        "customer_id",
        "session_id",
        "effective_at",
        "known_at",
        "session_started_at",
        "page_view_count",
        "session_duration_seconds",
        "has_checkout",
    ]
    return sessions[columns]
