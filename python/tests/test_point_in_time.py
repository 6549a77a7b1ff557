"""The point-in-time macros against the brute-force reference, on generated cases.

Both implementations (the DuckDB one and the portable `default__`) run every case on DuckDB;
the portable one runs them again on a real PostgreSQL server. Cases are small, on an hourly
grid, so ties, exact boundaries, nulls, empty inputs, duplicate spine rows, entities without
history and spine rows before any history occur often.
"""

from __future__ import annotations

import itertools
import math
from datetime import datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pit_harness import compile_calls, start_postgres
from pit_reference import FeatureRow, SpineRow
from pit_reference import point_in_time_join as reference_join
from pit_reference import scd2_join as reference_scd2
from pit_reference import window_aggregates as reference_windows
from trainset.project import connect_duckdb

BASE = datetime(2025, 1, 1)
TTLS = {"none": None, "ttl": "12 hours"}
EMBARGOS = {"none": None, "emb": "6 hours"}
FUNCTIONS = ["count", "count_distinct", "sum", "mean", "min", "max"]


def interval(text: str | None) -> timedelta | None:
    if text is None:
        return None
    amount, unit = text.split()
    return timedelta(**{unit: int(amount)})


def join_cases() -> dict[str, dict]:
    cases = {}
    for ttl, embargo, strict, bitemporal, implementation in itertools.product(
        TTLS, EMBARGOS, [False, True], [True, False], ["dispatch", "default"]
    ):
        name = f"join_{implementation}_{ttl}_{embargo}_{'strict' if strict else 'incl'}_{'bi' if bitemporal else 'uni'}"
        cases[name] = {
            "ttl": ttl,
            "embargo": embargo,
            "strict": strict,
            "bitemporal": bitemporal,
            "implementation": implementation,
        }
    return cases


def join_call(case: dict) -> str:
    feature = {
        "relation": "features",
        "columns": ["value", "label"],
        "prefix": "f_",
        "ttl": TTLS[case["ttl"]],
        "embargo": EMBARGOS[case["embargo"]],
        "strict": case["strict"],
        "bitemporal": case["bitemporal"],
        "tiebreak_column": "row_id",
    }
    arguments = (
        f"'spine', [{feature!r}], 'entity_id', 'cutoff_at'".replace("None", "none")
        .replace("True", "true")
        .replace("False", "false")
    )
    macro = (
        "trainset.point_in_time_join"
        if case["implementation"] == "dispatch"
        else "trainset.default__point_in_time_join"
    )
    return f"{{{{ {macro}({arguments}) }}}}"


def window_cases() -> dict[str, dict]:
    cases = {}
    for embargo, bitemporal, superseded, method, implementation in itertools.product(
        EMBARGOS,
        [True, False],
        [False, True],
        ["range_join", "cumulative"],
        ["dispatch", "default"],
    ):
        if implementation == "default" and method == "cumulative":
            continue
        name = f"win_{implementation}_{method}_{embargo}_{'bi' if bitemporal else 'uni'}_{'sup' if superseded else 'all'}"
        cases[name] = {
            "embargo": embargo,
            "bitemporal": bitemporal,
            "superseded": superseded,
            "method": method,
            "implementation": implementation,
        }
    return cases


def window_functions(case: dict) -> list[str]:
    return ["count", "sum", "mean"] if case["method"] == "cumulative" else FUNCTIONS


def window_call(case: dict) -> str:
    aggregations = [
        {
            "column": "value",
            "functions": [f for f in window_functions(case) if f != "count_distinct"],
            "name": "v",
        },
    ]
    if "count_distinct" in window_functions(case):
        aggregations.append({"column": "label", "functions": ["count_distinct"], "name": "v"})
    embargo = EMBARGOS[case["embargo"]]
    arguments = {
        "spine": "spine",
        "events": "features",
        "aggregations": aggregations,
        "windows": [1, 2],
        "entity_column": "entity_id",
        "bitemporal": case["bitemporal"],
        "superseded_column": "superseded_at" if case["superseded"] else None,
        "embargo": embargo,
        "method": case["method"],
    }
    rendered = ", ".join(f"{key}={value!r}" for key, value in arguments.items())
    rendered = rendered.replace("None", "none").replace("True", "true").replace("False", "false")
    if case["implementation"] == "dispatch":
        return f"{{{{ trainset.window_aggregates({rendered}) }}}}"
    positional = (
        f"'spine', 'features', {aggregations!r}, [1, 2], 'entity_id', 'cutoff_at', 'entity_id', "
        f"'effective_at', 'known_at', {str(case['bitemporal']).lower()}, "
        f"{repr('superseded_at') if case['superseded'] else 'none'}, {repr(embargo) if embargo else 'none'}, "
        f"'range_join', '', 10"
    )
    return f"{{{{ trainset.default__window_aggregates({positional}) }}}}"


SCD2_CALLS = {
    "scd2_dispatch": "{{ trainset.scd2_join('spine', 'history', ['value'], 'entity_id', 'cutoff_at', none, 'valid_from', 'valid_to') }}",
    "scd2_default": "{{ trainset.default__scd2_join('spine', 'history', ['value'], 'entity_id', 'cutoff_at', 'entity_id', 'valid_from', 'valid_to', '') }}",
}
JOIN_CASES = join_cases()
WINDOW_CASES = window_cases()


def all_calls() -> dict[str, str]:
    calls = {name: join_call(case) for name, case in JOIN_CASES.items()}
    calls |= {name: window_call(case) for name, case in WINDOW_CASES.items()}
    return calls | SCD2_CALLS


@pytest.fixture(scope="module")
def compiled_duckdb(tmp_path_factory) -> dict[str, str]:
    return compile_calls(all_calls(), tmp_path_factory.mktemp("pit_duckdb"))


# ---- generated cases ----------------------------------------------------------------------

# A coarse grid (6-hour steps over 4 days) makes ties and exact boundaries frequent: the ttl
# is 2 steps, the embargo 1, the windows 4 and 8.
hours = st.integers(min_value=0, max_value=16).map(lambda step: 6 * step)
entities = st.one_of(st.none(), st.integers(min_value=1, max_value=3))


def at(hour: int | None) -> datetime | None:
    return None if hour is None else BASE + timedelta(hours=hour)


BOUNDARIES = [0, 6, 12, 18, 24, 30, 48, 54]  # hours after an event: embargo, ttl, windows


@st.composite
def feature_tables(draw) -> list[FeatureRow]:
    rows = draw(
        st.lists(
            st.tuples(
                entities,
                st.one_of(st.none(), hours),
                st.one_of(
                    st.none(), st.integers(min_value=-1, max_value=3).map(lambda step: 6 * step)
                ),
                st.one_of(st.none(), st.integers(min_value=-5, max_value=5)),
                st.one_of(st.none(), st.sampled_from(["a", "b", "c"])),
                st.one_of(
                    st.none(), st.integers(min_value=0, max_value=4).map(lambda step: 6 * step)
                ),
            ),
            max_size=12,
        )
    )
    features = []
    for index, (entity, effective, delay, value, label, superseded) in enumerate(rows):
        effective_at = at(effective)
        known_at = (
            None if delay is None or effective_at is None else effective_at + timedelta(hours=delay)
        )
        superseded_at = (
            None
            if superseded is None or known_at is None
            else known_at + timedelta(hours=superseded)
        )
        features.append(
            FeatureRow(
                index + 1,
                entity,
                effective_at,
                known_at,
                None if value is None else float(value),
                label,
                superseded_at,
            )
        )
    return features


@st.composite
def cases(draw) -> tuple[list[SpineRow], list[FeatureRow]]:
    """Features, then a spine whose cutoffs often sit exactly on a boundary of some feature row:
    its effective or known time plus the embargo, the ttl or a window length."""
    features = draw(feature_tables())
    anchors = [
        (feature.entity_id, moment)
        for feature in features
        for moment in (feature.effective_at, feature.known_at)
        if moment is not None
    ]
    spine_rows = []
    for _ in range(draw(st.integers(min_value=0, max_value=8))):
        if anchors and draw(st.booleans()):
            entity, moment = draw(st.sampled_from(anchors))
            cutoff = moment + timedelta(hours=draw(st.sampled_from(BOUNDARIES)))
            entity = draw(st.one_of(st.just(entity), entities))
        else:
            entity, cutoff = draw(entities), at(draw(st.one_of(st.none(), hours)))
        spine_rows.append((entity, cutoff))
    if spine_rows and draw(st.booleans()):
        spine_rows.append(spine_rows[0])  # a duplicate spine row keeps its own output row
    spine = [SpineRow(index, entity, cutoff) for index, (entity, cutoff) in enumerate(spine_rows)]
    return spine, features


@st.composite
def spines(draw) -> list[SpineRow]:
    rows = draw(st.lists(st.tuples(entities, st.one_of(st.none(), hours)), max_size=8))
    return [SpineRow(index, entity, at(hour)) for index, (entity, hour) in enumerate(rows)]


# ---- running SQL ---------------------------------------------------------------------------

SPINE_DDL = "create table spine (spine_row bigint, entity_id bigint, cutoff_at timestamp)"
FEATURES_DDL = (
    "create table features (row_id bigint, entity_id bigint, effective_at timestamp, "
    "known_at timestamp, value double precision, label varchar, superseded_at timestamp)"
)
HISTORY_DDL = "create table history (entity_id bigint, valid_from timestamp, valid_to timestamp, value varchar)"


def load(cursor, spine, features, history=(), placeholder="?"):
    for table in ("spine", "features", "history"):
        cursor.execute(f"drop table if exists {table}")
    cursor.execute(SPINE_DDL)
    cursor.execute(FEATURES_DDL)
    cursor.execute(HISTORY_DDL)
    marks = lambda n: ", ".join([placeholder] * n)  # noqa: E731
    if spine:
        cursor.executemany(
            f"insert into spine values ({marks(3)})",
            [(r.spine_row, r.entity_id, r.cutoff_at) for r in spine],
        )
    if features:
        cursor.executemany(
            f"insert into features values ({marks(7)})",
            [
                (
                    f.row_id,
                    f.entity_id,
                    f.effective_at,
                    f.known_at,
                    f.value,
                    f.label,
                    f.superseded_at,
                )
                for f in features
            ],
        )
    if history:
        cursor.executemany(f"insert into history values ({marks(4)})", list(history))


def fetch(cursor, sql: str) -> tuple[list[str], list[tuple]]:
    cursor.execute(sql)
    names = [column[0] for column in cursor.description]
    return names, cursor.fetchall()


def check_join(cursor, sql, case, spine, features):
    names, rows = fetch(cursor, sql)
    assert names == ["spine_row", "entity_id", "cutoff_at", "f_value", "f_label"]
    assert sorted(row[0] for row in rows) == [row.spine_row for row in spine]
    expected = reference_join(
        spine,
        features,
        ttl=interval(TTLS[case["ttl"]]),
        embargo=interval(EMBARGOS[case["embargo"]]),
        strict=case["strict"],
        bitemporal=case["bitemporal"],
    )
    for row in rows:
        assert (row[3], row[4]) == expected[row[0]], (row, case)


def same(actual, expected) -> bool:
    if expected is None or actual is None:
        return actual is None and expected is None
    return math.isclose(float(actual), float(expected), rel_tol=1e-9, abs_tol=1e-9)


def check_windows(cursor, sql, case, spine, features):
    names, rows = fetch(cursor, sql)
    functions = window_functions(case)
    expected_names = ["spine_row", "entity_id", "cutoff_at"] + [
        f"v_{function}_{window}d"
        for window in (1, 2)
        for function in functions
        if function != "count_distinct"
    ]
    if "count_distinct" in functions:
        expected_names = ["spine_row", "entity_id", "cutoff_at"] + [
            name
            for window in (1, 2)
            for name in [f"v_{f}_{window}d" for f in functions if f != "count_distinct"]
            + [f"v_count_distinct_{window}d"]
        ]
    assert names == expected_names
    assert sorted(row[0] for row in rows) == [row.spine_row for row in spine]
    for window in (1, 2):
        expected = reference_windows(
            spine,
            features,
            window_days=window,
            embargo=interval(EMBARGOS[case["embargo"]]),
            bitemporal=case["bitemporal"],
            use_superseded=case["superseded"],
        )
        for row in rows:
            values = dict(zip(names, row, strict=True))
            for function in functions:
                actual = values[f"v_{function}_{window}d"]
                assert same(actual, expected[row[0]][function]), (function, window, row, case)


SETTINGS = settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@SETTINGS
@given(case=cases())
def test_point_in_time_join_matches_the_reference_on_duckdb(compiled_duckdb, case):
    spine, features = case
    connection = connect_duckdb()
    try:
        load(connection, spine, features)
        for name, case in JOIN_CASES.items():
            check_join(connection, compiled_duckdb[name], case, spine, features)
    finally:
        connection.close()


@SETTINGS
@given(case=cases())
def test_window_aggregates_match_the_reference_on_duckdb(compiled_duckdb, case):
    spine, features = case
    connection = connect_duckdb()
    try:
        load(connection, spine, features)
        for name, case in WINDOW_CASES.items():
            check_windows(connection, compiled_duckdb[name], case, spine, features)
    finally:
        connection.close()


@st.composite
def histories(draw) -> list[tuple]:
    rows = []
    for entity in (1, 2):
        starts = sorted(draw(st.sets(hours, max_size=4)))
        for index, start in enumerate(starts):
            end = (
                starts[index + 1]
                if index + 1 < len(starts)
                else draw(st.one_of(st.none(), st.integers(97, 110)))
            )
            rows.append(
                (entity, at(start), at(end) if end is not None else None, f"v{entity}-{start}")
            )
    return rows


@SETTINGS
@given(spine=spines(), history=histories())
def test_scd2_join_matches_the_reference_on_duckdb(compiled_duckdb, spine, history):
    connection = connect_duckdb()
    try:
        load(connection, spine, [], history)
        expected = reference_scd2(spine, history)
        for name in SCD2_CALLS:
            names, rows = fetch(connection, compiled_duckdb[name])
            assert names == ["spine_row", "entity_id", "cutoff_at", "value"]
            assert sorted(row[0] for row in rows) == [row.spine_row for row in spine]
            for row in rows:
                assert row[3] == expected[row[0]], (name, row)
    finally:
        connection.close()


def test_a_40_day_old_order_is_outside_the_30_day_window(compiled_duckdb):
    """Windows are computed at the cutoff, not copied from the last event's row."""
    connection = connect_duckdb()
    try:
        spine = [SpineRow(0, 1, BASE + timedelta(days=40))]
        features = [FeatureRow(1, 1, BASE, BASE, 10.0, "a")]
        load(connection, spine, features)
        for name in WINDOW_CASES:
            _, rows = fetch(connection, compiled_duckdb[name])
            assert rows[0][3] == 0, name  # v_count_1d
    finally:
        connection.close()


def test_timezone_aware_cutoffs_compare_as_utc_instants(tmp_path):
    """A spine in timestamptz (+02:00 offsets) against naive-UTC features."""
    calls = {
        "tz": "{{ trainset.point_in_time_join('spine', [{'relation': 'features', 'columns': ['value'], 'tiebreak_column': 'row_id'}], 'entity_id', 'cutoff_at') }}"
    }
    sql = compile_calls(calls, tmp_path)["tz"]
    connection = connect_duckdb()
    try:
        connection.execute("set timezone = 'UTC'")
        connection.execute(
            "create table spine as select 1::bigint as entity_id, "
            "'2025-01-01 12:00:00+02:00'::timestamptz as cutoff_at"  # 10:00 UTC
        )
        connection.execute(
            "create table features as select * from (values "
            "(1::bigint, 1::bigint, '2025-01-01 09:00:00'::timestamp, '2025-01-01 09:00:00'::timestamp, 1.0), "
            "(2, 1, '2025-01-01 11:00:00', '2025-01-01 11:00:00', 2.0)"
            ") as t(row_id, entity_id, effective_at, known_at, value)"
        )
        assert connection.sql(sql).fetchall()[0][-1] == 1.0
    finally:
        connection.close()


# ---- PostgreSQL: the portable implementations on a real server ------------------------------


@pytest.fixture(scope="module")
def postgres():
    yield from start_postgres()


@pytest.fixture(scope="module")
def compiled_postgres(postgres, tmp_path_factory) -> dict[str, str]:
    calls = {
        name: join_call(case)
        for name, case in JOIN_CASES.items()
        if case["implementation"] == "dispatch"
    }
    calls |= {
        name: window_call(case)
        for name, case in WINDOW_CASES.items()
        if case["implementation"] == "dispatch" and case["method"] == "range_join"
    }
    calls["scd2_dispatch"] = SCD2_CALLS["scd2_dispatch"]
    return compile_calls(
        calls, tmp_path_factory.mktemp("pit_pg"), target="pg", pg_port=postgres.port
    )


def test_postgres_compiles_the_portable_implementations(compiled_postgres):
    join_sql = next(sql for name, sql in compiled_postgres.items() if name.startswith("join_"))
    assert "row_number() over" in join_sql and "asof" not in join_sql.lower()


@pytest.mark.postgres
@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(case=cases())
def test_portable_macros_match_the_reference_on_postgres(postgres, compiled_postgres, case):
    spine, features = case
    connection = postgres.connect()
    try:
        cursor = connection.cursor()
        load(cursor, spine, features, placeholder="%s")
        for name, sql in compiled_postgres.items():
            if name.startswith("join_"):
                check_join(cursor, sql, JOIN_CASES[name], spine, features)
            elif name.startswith("win_"):
                check_windows(cursor, sql, WINDOW_CASES[name], spine, features)
    finally:
        connection.close()


def test_ties_go_to_the_latest_known_at_then_the_largest_key(compiled_duckdb):
    """Equal effective_at: a correction (later known_at) wins even with a smaller key; equal
    known_at too: the larger key wins; a correction known after the cutoff does not serve."""
    noon = BASE + timedelta(hours=12)
    spine = [SpineRow(0, 1, BASE + timedelta(hours=18)), SpineRow(1, 2, BASE + timedelta(hours=18))]
    features = [
        FeatureRow(9, 1, noon, noon, 1.0, "original"),
        FeatureRow(3, 1, noon, noon + timedelta(hours=6), 2.0, "correction"),
        FeatureRow(1, 1, noon, noon + timedelta(hours=7), 3.0, "too late"),
        FeatureRow(4, 2, noon, noon, 4.0, "smaller key"),
        FeatureRow(5, 2, noon, noon, 5.0, "larger key"),
    ]
    connection = connect_duckdb()
    try:
        load(connection, spine, features)
        for name, case in JOIN_CASES.items():
            if not case["bitemporal"] or case["embargo"] != "none" or case["strict"]:
                continue
            _, rows = fetch(connection, compiled_duckdb[name])
            assert {row[0]: row[4] for row in rows} == {0: "correction", 1: "larger key"}, name
    finally:
        connection.close()
