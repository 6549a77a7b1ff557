"""The point-in-time macros on Apache Spark against the brute-force reference.

The same generated cases as test_point_in_time.py (its strategies, macro calls and checks,
reused as they are) run on the shared Spark session: every dispatched join case (the
window-function ranking for bitemporal features, the ASOF JOIN without the bitemporal
filter), the window aggregates and the SCD2 join. Spark timestamps are microseconds and have
no infinity, so the nanosecond and infinite flavours stay with DuckDB and PostgreSQL; the
hourly grid, month ends with month embargoes and year-1 dates run here.

One Spark job per generated case: the results of every compiled call are unioned as JSON
rows and collected once, then handed to the shared checks through a cursor of recorded
results.
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings

from conftest import examples
from pit_harness import compile_calls
from pit_reference import FeatureRow, SpineRow, instant
from pit_reference import point_in_time_join as reference_join
from pit_reference import scd2_join as scd2_reference
from spark_harness import spark_session
from test_point_in_time import (
    JOIN_CASES,
    SCD2_CALLS,
    TTLS,
    WINDOW_CASES,
    as_text,
    cases,
    check_join,
    check_windows,
    histories,
    interval,
    join_call,
    spines,
    window_call,
)

pytestmark = pytest.mark.spark

SPARK_FLAVOURS = ("grid", "month", "ancient")
EXAMPLES = examples(int(os.environ.get("TRAINSET_SPARK_EXAMPLES", "3")))
SPARK_JOIN_CASES = {
    name: case for name, case in JOIN_CASES.items() if case["implementation"] == "dispatch"
}
SPARK_WINDOW_CASES = {
    name: case
    for name, case in WINDOW_CASES.items()
    # every method compiles to the same range join on Spark: one of them is enough
    if case["implementation"] == "dispatch" and case["method"] == "range_join"
}
SPARK_SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture(scope="module")
def compiled_spark(tmp_path_factory) -> dict[str, str]:
    spark_session()
    calls = {name: join_call(case) for name, case in SPARK_JOIN_CASES.items()}
    calls |= {name: window_call(case) for name, case in SPARK_WINDOW_CASES.items()}
    calls["scd2_dispatch"] = SCD2_CALLS["scd2_dispatch"]
    return compile_calls(calls, tmp_path_factory.mktemp("pit_spark"), target="spark")


# ---- loading and running ------------------------------------------------------------------


def literal(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    if isinstance(value, float):
        return f"cast('{value!r}' as double)"
    return str(value)


def text_view(name: str, columns: list[tuple[str, str]], rows: list[tuple]) -> str:
    """A temporary view of literal rows; times are text cast by Spark itself (session UTC)."""
    if not rows:
        body = "select " + ", ".join(
            f"cast(null as {kind}) as {column}" for column, kind in columns
        )
        return f"create or replace temporary view {name} as {body} where false"
    body = " union all ".join(
        "select "
        + ", ".join(
            f"cast({literal(value)} as {kind}) as {column}"
            for (column, kind), value in zip(columns, row, strict=True)
        )
        for row in rows
    )
    return f"create or replace temporary view {name} as {body}"


def load(spine: list[SpineRow], features: list[FeatureRow], history=()) -> None:
    session = spark_session()
    session.sql(
        text_view(
            "spine",
            [("spine_row", "bigint"), ("entity_id", "bigint"), ("cutoff_at", "timestamp")],
            [(r.spine_row, r.entity_id, as_text(r.cutoff_at, False)) for r in spine],
        )
    )
    session.sql(
        text_view(
            "features",
            [
                ("row_id", "bigint"),
                ("entity_id", "bigint"),
                ("effective_at", "timestamp"),
                ("known_at", "timestamp"),
                ("value", "double"),
                ("label", "string"),
                ("superseded_at", "timestamp"),
                ("amount", "bigint"),
            ],
            [
                (
                    f.row_id,
                    f.entity_id,
                    as_text(f.effective_at, False),
                    as_text(f.known_at, False),
                    f.value,
                    f.label,
                    as_text(f.superseded_at, False),
                    f.amount,
                )
                for f in features
            ],
        )
    )
    session.sql(
        text_view(
            "history",
            [
                ("entity_id", "bigint"),
                ("valid_from", "timestamp"),
                ("valid_to", "timestamp"),
                ("value", "string"),
            ],
            [(e, as_text(a, False), as_text(b, False), v) for e, a, b, v in history],
        )
    )


class RecordedCursor:
    """A DB-API-shaped cursor over results already fetched, keyed by their SQL."""

    def __init__(self, results: dict[str, tuple[list[str], list[tuple]]]):
        self.results = results
        self.current: tuple[list[str], list[tuple]] = ([], [])

    def execute(self, sql: str) -> None:
        self.current = self.results[sql]

    @property
    def description(self):
        return [(name,) for name in self.current[0]]

    def fetchall(self) -> list[tuple]:
        return self.current[1]


def run_all(compiled: dict[str, str], names: list[str]) -> RecordedCursor:
    """Every compiled call in one Spark job: JSON rows (nulls kept) tagged by call name."""
    union = " union all ".join(
        f"select '{name}' as call_name, to_json(struct(*), map('ignoreNullFields', 'false')) "
        f"as row_json from ({compiled[name]}) as call_{index}"
        for index, name in enumerate(names)
    )
    results: dict[str, tuple[list[str], list[tuple]]] = {}
    columns: dict[str, list[str]] = {}
    for name in names:
        results[compiled[name]] = ([], [])
    for call_name, row_json in spark_session().sql(union).collect():
        row = json.loads(row_json)
        columns[call_name] = list(row)
        results[compiled[call_name]][1].append(tuple(row.values()))
    for name in names:
        rows = results[compiled[name]][1]
        results[compiled[name]] = (columns.get(name, []), rows)
    return RecordedCursor(results)


# ---- the generated cases ------------------------------------------------------------------


@SPARK_SETTINGS
@given(case=cases(flavours=SPARK_FLAVOURS))
def test_point_in_time_macros_match_the_reference_on_spark(compiled_spark, case):
    flavour, spine, features = case
    load(spine, features)
    names = [*SPARK_JOIN_CASES, *SPARK_WINDOW_CASES]
    cursor = run_all(compiled_spark, names)
    for name in names:
        sql = compiled_spark[name]
        if not cursor.results[sql][1]:  # no row, no JSON keys: the names from the plan
            cursor.results[sql] = (spark_session().sql(sql).columns, [])
        if name in SPARK_JOIN_CASES:
            check_join(cursor, sql, SPARK_JOIN_CASES[name], spine, features)
        else:
            check_windows(cursor, sql, SPARK_WINDOW_CASES[name], spine, features)


@SPARK_SETTINGS
@given(spine=spines(), history=histories())
def test_scd2_join_matches_the_reference_on_spark(compiled_spark, spine, history):
    load(spine, [], history)
    expected = scd2_reference(spine, history)
    result = spark_session().sql(compiled_spark["scd2_dispatch"])
    names, rows = result.columns, [tuple(row) for row in result.collect()]
    assert names == ["spine_row", "entity_id", "cutoff_at", "value"]
    assert sorted(row[0] for row in rows) == [row.spine_row for row in spine]
    for row in rows:
        assert row[3] == expected[row[0]], row


# ---- the ASOF JOIN: where it is used, and that ties cannot reach it -------------------------


def test_spark_uses_the_asof_join_only_without_the_bitemporal_filter(compiled_spark):
    for name, case in SPARK_JOIN_CASES.items():
        uses_asof = "asof join" in compiled_spark[name].lower()
        assert uses_asof == (not case["bitemporal"]), name


def test_equal_effective_times_never_reach_the_asof_join_as_ties(compiled_spark):
    """Twenty rows of one entity share one effective_at, spread over the shuffle partitions
    in shuffled order: the ASOF JOIN would pick any of them, the contract picks the latest
    known_at, then the largest key. Every non-bitemporal case must return that row, also with
    the ttl and the strict bound, for cutoffs on and after the shared effective_at."""
    noon = datetime(2025, 1, 1, 12)
    order = [7, 3, 19, 0, 12, 5, 16, 9, 1, 14, 18, 2, 11, 6, 15, 4, 13, 8, 17, 10]
    features = [
        FeatureRow(
            row_id=100 + key,
            entity_id=1,
            effective_at=instant(noon),
            known_at=instant(noon + timedelta(hours=key % 4)),
            value=float(key),
            label=f"row{key}",
        )
        for key in order
    ]
    spine = [
        SpineRow(index, 1, instant(noon + timedelta(hours=hours)))
        for index, hours in enumerate([0, 1, 6, 11, 30])
    ]
    load(spine, features)
    spark_session().sql("select * from features").repartition(8).createOrReplaceTempView("features")
    checked = 0
    for name, case in SPARK_JOIN_CASES.items():
        if case["bitemporal"] or case["embargo"] != "none":
            continue
        rows = [tuple(row) for row in spark_session().sql(compiled_spark[name]).collect()]
        expected = reference_join(
            spine,
            features,
            ttl=interval(TTLS[case["ttl"]]),
            embargo=None,
            strict=case["strict"],
            bitemporal=False,
        )
        for row in rows:
            assert (row[3], row[4]) == expected[row[0]], (name, row)
        # the winner exists and is the latest known_at (key % 4 == 3), then the largest key
        winners = {row[4] for row in rows if row[4] is not None}
        assert winners <= {"row19"}, (name, winners)
        checked += 1
    assert checked == 4
