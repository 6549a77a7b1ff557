"""Web sessions are point in time: at every cutoff, exactly the sessions of the page views
loaded by then.

The session versions macro and the window aggregates over its versions are checked against a
brute-force sessionization of only the views known at each cutoff (`session_reference`): on
generated cases (a 10-minute grid, so gaps of exactly 30 minutes, equal timestamps, equal load
times, out-of-order loads and cutoffs exactly at a load time occur often), on hand-made cases
with their expected sessions written out, and on every row of the training set and the serving
table of a real build.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import examples
from pit_harness import start_postgres
from session_reference import Session, View, session_windows, sessions_at
from trainset.compile import compile_macro_calls
from trainset.project import connect_duckdb, find_project_dir

GAP = timedelta(minutes=30)  # the gap the macro is called with in the cases below
BASE = datetime(2025, 3, 1)
MICROSECOND = timedelta(microseconds=1)
WINDOWS = (1, 3)  # days; short, so generated cases reach the window boundaries
AGGREGATIONS = [
    {"column": "session_id", "functions": ["count"], "name": "sessions_count"},
    {"column": "page_view_count", "functions": ["sum"], "name": "page_views_sum"},
]
IMPLEMENTATIONS = {
    "versions": "{{ trainset.web_session_versions('page_views', 30) }}",
    "versions_default": "{{ trainset.default__web_session_versions('page_views', 30) }}",
}
CALLS = {
    **IMPLEMENTATIONS,
    "windows": (
        "{{ trainset.window_aggregates(spine='spine', events='session_versions', "
        f"aggregations={AGGREGATIONS!r}, windows={list(WINDOWS)!r}, "
        "entity_column='customer_id', superseded_column='superseded_at') }}"
    ),
}


@pytest.fixture(scope="module")
def compiled(tmp_path_factory) -> dict[str, str]:
    return compile_macro_calls(
        CALLS,
        tmp_path_factory.mktemp("sessions"),
        macro_folders=("point_in_time", "features", "utils"),
    )


def test_the_harness_compiles_the_calls(compiled):
    assert "arg_min" in compiled["versions"]
    assert "arg_min" not in compiled["versions_default"]
    assert "session_versions" in compiled["windows"]


# ---- running the macros -------------------------------------------------------------------


def replace_table(cursor, name: str, columns: str, rows: list[tuple], mark: str) -> None:
    cursor.execute(f"drop table if exists {name}")
    cursor.execute(f"create table {name} ({columns})")
    if rows:
        marks = ", ".join([mark] * len(rows[0]))
        cursor.executemany(f"insert into {name} values ({marks})", rows)


def run_versions(cursor, sql: str, views: list[View], mark: str = "?") -> list[tuple]:
    """The macro's rows on `views`, left in the table session_versions. `mark`: the driver's
    parameter placeholder."""
    replace_table(
        cursor,
        "page_views",
        "customer_id bigint, event_id bigint, event_at timestamp, known_at timestamp, page varchar",
        [(v.customer_id, v.event_id, v.event_at, v.known_at, v.page) for v in views],
        mark,
    )
    cursor.execute("drop table if exists session_versions")
    cursor.execute(f"create table session_versions as {sql}")
    cursor.execute(
        "select customer_id, session_id, effective_at, known_at, superseded_at, "
        "session_started_at, page_view_count, session_duration_seconds, has_checkout "
        "from session_versions"
    )
    return [tuple(row) for row in cursor.fetchall()]


def visible(versions: list[tuple], cutoff_at: datetime) -> list[tuple]:
    """The versions that serve a cutoff, as comparable session tuples."""
    return sorted(
        (customer, session_id, started, effective, count, has_checkout, duration)
        for (
            customer,
            session_id,
            effective,
            known,
            superseded,
            started,
            count,
            duration,
            has_checkout,
        ) in versions
        if known <= cutoff_at and (superseded is None or superseded > cutoff_at)
    )


def as_tuples(sessions: list[Session]) -> list[tuple]:
    return sorted(
        (
            session.customer_id,
            f"{session.customer_id}-{session.first_event_id}",
            session.started_at,
            session.effective_at,
            session.page_view_count,
            session.has_checkout,
            (session.effective_at - session.started_at).total_seconds(),
        )
        for session in sessions
    )


def run_windows(
    cursor, sql: str, spine: list[tuple[int, datetime]], mark: str = "?"
) -> list[tuple]:
    replace_table(cursor, "spine", "customer_id bigint, cutoff_at timestamp", spine, mark)
    names = ", ".join(
        f"{aggregation['name']}_{aggregation['functions'][0]}_{days}d"
        for days in WINDOWS
        for aggregation in AGGREGATIONS
    )
    cursor.execute(f"select customer_id, cutoff_at, {names} from ({sql}) as window_output")
    return [tuple(row) for row in cursor.fetchall()]


def check_case(compiled, views: list[View], cutoffs: list[datetime]) -> None:
    """Versions and window aggregates at every cutoff equal the brute-force reference."""
    for implementation in IMPLEMENTATIONS:
        check_implementation(compiled, implementation, views, cutoffs)


def check_implementation(
    compiled, implementation: str, views: list[View], cutoffs: list[datetime]
) -> None:
    connection = connect_duckdb()
    try:
        check_on(connection.cursor(), compiled, implementation, views, cutoffs)
    finally:
        connection.close()


def check_on(
    cursor,
    compiled,
    implementation: str,
    views: list[View],
    cutoffs: list[datetime],
    mark: str = "?",
) -> None:
    versions = run_versions(cursor, compiled[implementation], views, mark)
    grain = [(row[0], row[1], row[3]) for row in versions]
    assert len(grain) == len(set(grain)), "(customer_id, session_id, known_at) repeats"
    for row in versions:
        assert row[4] is None or row[4] > row[3], f"superseded_at <= known_at: {row}"
    for cutoff_at in cutoffs:
        expected = as_tuples(sessions_at(views, cutoff_at, GAP))
        assert visible(versions, cutoff_at) == expected, (implementation, cutoff_at)
    customers = sorted({view.customer_id for view in views} | {99})
    spine = [(customer, cutoff_at) for customer in customers for cutoff_at in cutoffs]
    for customer, cutoff_at, *values in run_windows(cursor, compiled["windows"], spine, mark):
        reference = session_windows(views, customer, cutoff_at, GAP, WINDOWS)
        expected = [reference[name] for days in WINDOWS for name in names_of(days)]
        assert values == expected, (implementation, customer, cutoff_at)


def names_of(days: int) -> list[str]:
    return [f"sessions_count_{days}d", f"page_views_sum_{days}d"]


def interesting_cutoffs(views: list[View]) -> list[datetime]:
    """Every load time and the instant before it, and the window boundaries of every view."""
    cutoffs = {BASE - timedelta(days=1)}
    for view in views:
        cutoffs |= {view.known_at, view.known_at - MICROSECOND, view.event_at}
        for days in WINDOWS:
            cutoffs |= {view.event_at + timedelta(days=days), view.known_at + timedelta(days=days)}
    return sorted(cutoffs)


# ---- generated cases ----------------------------------------------------------------------

# Load delays in 10-minute steps: on time, minutes late, a day or two late.
DELAY_STEPS = [0, 1, 2, 3, 5, 144, 150, 300]


@st.composite
def page_view_sets(draw) -> list[View]:
    rows = draw(
        st.lists(
            st.tuples(
                st.integers(min_value=1, max_value=2),  # customer
                st.integers(min_value=0, max_value=4),  # day
                st.integers(min_value=0, max_value=12),  # 10-minute step in the day
                st.sampled_from(DELAY_STEPS),
                st.booleans(),  # checkout page
            ),
            max_size=14,
        )
    )
    event_ids = draw(st.permutations(range(1, len(rows) + 1)))
    views = []
    for event_id, (customer, day, step, delay, checkout) in zip(event_ids, rows, strict=True):
        event_at = BASE + timedelta(days=day, minutes=10 * step)
        views.append(
            View(
                event_id=event_id,
                customer_id=customer,
                event_at=event_at,
                known_at=event_at + timedelta(minutes=10 * delay),
                page="checkout" if checkout else "home",
            )
        )
    return views


@settings(
    max_examples=examples(150),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(views=page_view_sets())
def test_sessions_match_the_reference_at_every_cutoff(compiled, views):
    check_case(compiled, views, interesting_cutoffs(views))


# ---- hand-made cases, expected sessions written out -----------------------------------------


def at(hours: float, days: int = 0) -> datetime:
    return BASE + timedelta(days=days, hours=hours)


def view(event_id: int, event_at: datetime, known_at: datetime, page: str = "home") -> View:
    return View(event_id, 1, event_at, known_at, page)


def counts_at(views: list[View], cutoff_at: datetime) -> list[tuple[str, int]]:
    """(session_id, page_view_count) of the reference sessions at a cutoff."""
    return sorted(
        (f"1-{session.first_event_id}", session.page_view_count)
        for session in sessions_at(views, cutoff_at, GAP)
    )


HAND_CASES = {
    # 10:00 and 10:30 are one session; 10:30 and one microsecond later starts a second.
    "gap_of_exactly_30_minutes": (
        [
            view(1, at(10), at(10)),
            view(2, at(10.5), at(10.5)),
            view(3, at(11) + MICROSECOND, at(11) + MICROSECOND),
        ],
        {at(12): [("1-1", 2), ("1-3", 1)]},
    ),
    # Equal event times are ordered by event_id: the session is named by the smaller id.
    "equal_timestamps": (
        [view(5, at(10), at(10)), view(2, at(10), at(10))],
        {at(10) - MICROSECOND: [], at(10): [("1-2", 2)]},
    ),
    # 10:00 and 10:50 are two sessions until 10:25, loaded a day late, bridges them.
    "late_view_bridges_two_sessions": (
        [
            view(1, at(10), at(10.1)),
            view(2, at(10 + 50 / 60), at(11)),
            view(3, at(10 + 25 / 60), at(12, days=1)),
        ],
        {
            at(10.1) - MICROSECOND: [],
            at(10.1): [("1-1", 1)],
            at(11): [("1-1", 1), ("1-2", 1)],
            at(12, days=1) - MICROSECOND: [("1-1", 1), ("1-2", 1)],
            at(12, days=1): [("1-1", 3)],
        },
    ),
    # 10:20, loaded two days late, extends the 10:00 session only from its load time on.
    "late_view_extends_a_session": (
        [view(1, at(10), at(10)), view(2, at(10 + 20 / 60), at(10, days=2))],
        {
            at(11): [("1-1", 1)],
            at(10, days=2) - MICROSECOND: [("1-1", 1)],
            at(10, days=2): [("1-1", 2)],
        },
    ),
    # Loaded in the reverse order of the views: the session grows backwards and is renamed.
    "out_of_order_loads": (
        [
            view(1, at(10), at(12)),
            view(2, at(10 + 10 / 60), at(11)),
            view(3, at(10 + 20 / 60), at(10.5)),
        ],
        {
            at(10.5): [("1-3", 1)],
            at(11): [("1-2", 2)],
            at(12): [("1-1", 3)],
        },
    ),
    # A late view far from the others is its own session from its load time on.
    "late_view_alone": (
        [view(1, at(10), at(10)), view(2, at(15), at(15, days=1), "checkout")],
        {at(16): [("1-1", 1)], at(15, days=1): [("1-1", 1), ("1-2", 1)]},
    ),
}


@pytest.mark.parametrize("name", HAND_CASES)
def test_hand_made_cases(compiled, name):
    views, expected = HAND_CASES[name]
    for cutoff_at, sessions in expected.items():
        assert counts_at(views, cutoff_at) == sessions, (name, cutoff_at, "reference")
    check_case(compiled, views, sorted(set(expected) | set(interesting_cutoffs(views))))


def test_a_view_loaded_after_the_cutoff_adds_nothing_to_the_window(compiled):
    """The late view's session is inside the 1-day window, but the view is not known yet."""
    views = [view(1, at(10), at(10)), view(2, at(10.25), at(10, days=3))]
    connection = connect_duckdb()
    try:
        cursor = connection.cursor()
        run_versions(cursor, compiled["versions"], views)
        rows = run_windows(cursor, compiled["windows"], [(1, at(20)), (1, at(10, days=3))])
    finally:
        connection.close()
    by_cutoff = {cutoff_at: values for _, cutoff_at, *values in rows}
    # sessions_count_1d, page_views_sum_1d, sessions_count_3d, page_views_sum_3d
    assert by_cutoff[at(20)] == [1, 1, 1, 1]
    assert by_cutoff[at(10, days=3)] == [0, 0, 1, 2]


# ---- PostgreSQL: the portable implementation on a real server --------------------------------


@pytest.fixture(scope="module")
def postgres():
    yield from start_postgres()


@pytest.fixture(scope="module")
def compiled_postgres(postgres, tmp_path_factory) -> dict[str, str]:
    return compile_macro_calls(
        CALLS,
        tmp_path_factory.mktemp("sessions_pg"),
        target="pg",
        pg_port=postgres.port,
        macro_folders=("point_in_time", "features", "utils"),
    )


@pytest.mark.postgres
@settings(
    max_examples=examples(40),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(views=page_view_sets())
def test_portable_sessions_match_the_reference_on_postgres(postgres, compiled_postgres, views):
    assert "arg_min" not in compiled_postgres["versions"]
    connection = postgres.connect()
    try:
        check_on(
            connection.cursor(),
            compiled_postgres,
            "versions",
            views,
            interesting_cutoffs(views),
            mark="%s",
        )
    finally:
        connection.close()


# ---- every row of a real build --------------------------------------------------------------


def project_gap() -> timedelta:
    """The build's session gap: the `session_gap_minutes` var of dbt_project.yml."""
    project = yaml.safe_load((find_project_dir() / "dbt_project.yml").read_text())
    return timedelta(minutes=int(project["vars"]["session_gap_minutes"]))


def staged_views(connection) -> dict[int, list[View]]:
    views: dict[int, list[View]] = defaultdict(list)
    rows = connection.sql(
        "select event_id, customer_id, event_at, loaded_at, page from staging.stg_shop__web_events"
    ).fetchall()
    for event_id, customer_id, event_at, loaded_at, page in rows:
        views[customer_id].append(View(event_id, customer_id, event_at, loaded_at, page))
    return views


@pytest.mark.integration
@pytest.mark.parametrize(
    ("table", "cutoff_column"),
    [("training.train_churn_30d", "cutoff_at"), ("serving.serve_customer__features", "served_at")],
)
def test_built_features_match_the_reference(built, table, cutoff_column):
    assert built.success
    connection = connect_duckdb(built.paths.duckdb_path, read_only=True)
    try:
        views = staged_views(connection)
        rows = connection.sql(
            f"select customer_id, {cutoff_column}, sessions_count_7d, sessions_count_30d, "
            f"page_views_sum_30d from {table}"
        ).fetchall()
    finally:
        connection.close()
    assert rows
    gap = project_gap()
    mismatches = []
    for customer_id, cutoff_at, *actual in rows:
        reference = session_windows(views[customer_id], customer_id, cutoff_at, gap)
        expected = [
            reference["sessions_count_7d"],
            reference["sessions_count_30d"],
            reference["page_views_sum_30d"],
        ]
        if actual != expected:
            mismatches.append((customer_id, cutoff_at, actual, expected))
    assert not mismatches, f"{len(mismatches)} of {len(rows)} rows differ: {mismatches[:5]}"


@pytest.mark.integration
def test_generated_data_has_views_loaded_after_a_training_cutoff(built):
    """The comparison above is only meaningful when some views straddle a cutoff."""
    connection = connect_duckdb(built.paths.duckdb_path, read_only=True)
    try:
        (straddling,) = connection.sql(
            "select count(*) from training.train_churn_30d as spine "
            "inner join staging.stg_shop__web_events as views "
            "on spine.customer_id = views.customer_id "
            "and views.event_at <= spine.cutoff_at and views.loaded_at > spine.cutoff_at"
        ).fetchone()
    finally:
        connection.close()
    assert straddling > 0


@pytest.mark.integration
def test_built_versions_match_the_reference_at_every_load_time(built):
    """Sessions in the model, at each distinct load time of a late view and the instant before
    it, and at every training cutoff, equal the reference over all customers."""
    connection = connect_duckdb(built.paths.duckdb_path, read_only=True)
    try:
        views = [view for own in staged_views(connection).values() for view in own]
        versions = connection.sql(
            "select customer_id, session_id, effective_at, known_at, superseded_at, "
            "session_started_at, page_view_count, session_duration_seconds, has_checkout "
            "from features.feat_customer__web_sessions"
        ).fetchall()
        cutoffs = [
            row[0]
            for row in connection.sql(
                "select distinct cutoff_at from training.train_churn_30d"
            ).fetchall()
        ]
    finally:
        connection.close()
    gap = project_gap()
    late = sorted(
        {view.known_at for view in views if view.known_at - view.event_at > timedelta(hours=2)}
    )
    assert late, "the generated data has no late page views"
    sampled = late[:: max(1, len(late) // 20)]
    for cutoff_at in cutoffs + sampled + [known_at - MICROSECOND for known_at in sampled]:
        assert visible(versions, cutoff_at) == as_tuples(sessions_at(views, cutoff_at, gap)), (
            cutoff_at
        )
