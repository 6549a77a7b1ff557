"""The point-in-time macros against the brute-force reference, on generated cases.

Both implementations (the DuckDB one and the portable `default__`) run every case on DuckDB;
the portable one runs them again on a real PostgreSQL server. Cases are small, on coarse
grids, so ties, exact boundaries, nulls, empty inputs, duplicate spine rows, entities without
history and spine rows before any history occur often. Each case is drawn in one flavour of
time: an hourly grid; days around month ends (with month embargoes); nanosecond timestamps
(TIMESTAMP_NS, DuckDB only) a few nanoseconds either side of every boundary; dates in year 1;
and infinite timestamps. Values include huge and tiny floats and huge integers.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import examples
from pit_harness import compile_calls, start_postgres
from pit_reference import FeatureRow, Interval, SpineRow, add_months, instant, to_datetime
from pit_reference import point_in_time_join as reference_join
from pit_reference import scd2_join as reference_scd2
from pit_reference import window_aggregates as reference_windows

HOUR = 3_600_000_000
BASE = datetime(2025, 1, 1)
TTLS = {"none": None, "ttl": "12 hours"}
EMBARGOS = {"none": None, "emb": "6 hours", "month": "1 month"}
INTERVALS = {
    None: None,
    "12 hours": Interval(micros=12 * HOUR),
    "6 hours": Interval(micros=6 * HOUR),
    "1 month": Interval(months=1),
}
FUNCTIONS = ["count", "count_distinct", "sum", "mean", "min", "max"]
EXACT_FUNCTIONS = ["count", "sum", "mean"]


def interval(text: str | None) -> Interval | None:
    return INTERVALS[text]


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
        ["range_join", "cumulative", "auto"],
        ["dispatch", "default"],
    ):
        if implementation == "default" and method != "range_join":
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
    return EXACT_FUNCTIONS if case["method"] != "range_join" else FUNCTIONS


def window_measure(case: dict) -> str:
    """Running totals (cumulative) are summed over the integer column `amount`; `auto` with a
    high density hint sums the floating `value`, where it must not use running totals."""
    return "amount" if case["method"] == "cumulative" else "value"


def window_call(case: dict, windows: tuple[int, ...] = (1, 2)) -> str:
    aggregations = [
        {
            "column": "cast(amount as bigint)" if window_measure(case) == "amount" else "value",
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
        "windows": list(windows),
        "entity_column": "entity_id",
        "bitemporal": case["bitemporal"],
        "superseded_column": "superseded_at" if case["superseded"] else None,
        "embargo": embargo,
        "method": case["method"],
        "expected_events_per_window": 1000,
    }
    rendered = ", ".join(f"{key}={value!r}" for key, value in arguments.items())
    rendered = rendered.replace("None", "none").replace("True", "true").replace("False", "false")
    if case["implementation"] == "dispatch":
        return f"{{{{ trainset.window_aggregates({rendered}) }}}}"
    positional = (
        f"'spine', 'features', {aggregations!r}, {list(windows)!r}, 'entity_id', 'cutoff_at', "
        "'entity_id', "
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


# A 30-day window, as the churn features use, by each implementation and method, without
# embargo or supersession.
MONTH_WINDOW_CASES = {
    f"month_window_{name}": case
    for name, case in WINDOW_CASES.items()
    if case["embargo"] == "none" and not case["superseded"] and case["bitemporal"]
}


def all_calls() -> dict[str, str]:
    calls = {name: join_call(case) for name, case in JOIN_CASES.items()}
    calls |= {name: window_call(case) for name, case in WINDOW_CASES.items()}
    calls |= {name: window_call(case, (30,)) for name, case in MONTH_WINDOW_CASES.items()}
    return calls | SCD2_CALLS


@pytest.fixture(scope="module")
def compiled_duckdb(tmp_path_factory) -> dict[str, str]:
    return compile_calls(all_calls(), tmp_path_factory.mktemp("pit_duckdb"))


# ---- generated cases ----------------------------------------------------------------------


@dataclass(frozen=True)
class Flavour:
    """How a case places its instants: a grid from `base` in `step_hours` steps, nanosecond
    offsets or not, infinite instants or not; `sql_type` is the column type to load into."""

    name: str
    base: datetime
    step_hours: int
    steps: int
    nanos: bool = False
    infinite: bool = False

    @property
    def sql_type(self) -> str:
        return "timestamp_ns" if self.nanos else "timestamp"


FLAVOURS = {
    # 6-hour steps over 4 days: the ttl is 2 steps, the embargo 1, the windows 4 and 8.
    "grid": Flavour("grid", datetime(2025, 1, 1), 6, 16),
    # Half days from Jan 27 to Mar 7 of a leap year: month ends, Feb 29, one-month embargoes.
    "month": Flavour("month", datetime(2024, 1, 27), 12, 80),
    "nanos": Flavour("nanos", datetime(2025, 1, 1), 6, 16, nanos=True),
    "ancient": Flavour("ancient", datetime(1, 3, 5), 12, 80),
    "infinite": Flavour("infinite", datetime(2025, 1, 1), 6, 16, infinite=True),
}
NANO_OFFSETS = [0, 1, 499, 500, 501, 999]
NANO_NUDGES = [-500, -1, 0, 1, 500]
BOUNDARIES = [0, 6, 12, 18, 24, 30, 48, 54]  # hours after an event: embargo, ttl, windows
FLOATS = [1e17, -1e17, 1e-300, 1e-7, 3.0, 0.1]
BIG_INTEGERS = [10**17, -(10**17), 10**17 + 1]

entities = st.one_of(st.none(), st.integers(min_value=1, max_value=3))


@st.composite
def moments(draw, flavour: Flavour):
    """An instant on the flavour's grid (nanosecond flavours: a few ns off it; infinite
    flavours: sometimes +/-infinity)."""
    if flavour.infinite and draw(st.integers(0, 5)) == 0:
        return draw(st.sampled_from([math.inf, -math.inf]))
    step = draw(st.integers(min_value=0, max_value=flavour.steps))
    value = instant(flavour.base + timedelta(hours=flavour.step_hours * step))
    if flavour.nanos:
        value += draw(st.sampled_from(NANO_OFFSETS))
    return value


def later(value, hours: int, nanos: int = 0):
    return value if math.isinf(value) else value + hours * HOUR * 1000 + nanos


def month_boundaries(value, flavour: Flavour) -> list:
    """One month after `value` (clamped to the month's end), a tick either side (a nanosecond,
    or a microsecond below nanosecond precision), and the first instant of the next month:
    where `cutoff - 1 month >= value` starts to hold."""
    if math.isinf(value):
        return [value]
    tick = 1 if flavour.nanos else 1000
    moment, nanos = to_datetime(int(value))
    shifted = add_months(moment, 1)
    first_of_next = add_months(shifted.replace(day=1, hour=0, minute=0, second=0, microsecond=0), 1)
    return [
        instant(shifted, nanos),
        instant(shifted, nanos) + tick,
        instant(shifted, nanos) - tick,
        instant(first_of_next),
        instant(first_of_next) - tick,
    ]


@st.composite
def feature_tables(draw, flavour: Flavour) -> list[FeatureRow]:
    step = flavour.step_hours
    rows = draw(
        st.lists(
            st.tuples(
                entities,
                st.one_of(st.none(), moments(flavour)),
                st.one_of(st.none(), st.integers(min_value=-1, max_value=3)),
                st.one_of(
                    st.none(),
                    st.integers(min_value=-5, max_value=5).map(float),
                    st.sampled_from(FLOATS),
                ),
                st.one_of(st.none(), st.sampled_from(["a", "b", "c"])),
                st.one_of(st.none(), st.integers(min_value=0, max_value=4)),
                st.one_of(
                    st.none(), st.integers(min_value=-5, max_value=5), st.sampled_from(BIG_INTEGERS)
                ),
                st.sampled_from(NANO_NUDGES if flavour.nanos else [0]),
            ),
            max_size=12,
        )
    )
    features = []
    for index, (entity, effective_at, delay, value, label, superseded, amount, nudge) in enumerate(
        rows
    ):
        known_at = (
            None
            if delay is None or effective_at is None
            else later(effective_at, delay * step, nudge)
        )
        superseded_at = (
            None if superseded is None or known_at is None else later(known_at, superseded * step)
        )
        features.append(
            FeatureRow(
                index + 1, entity, effective_at, known_at, value, label, superseded_at, amount
            )
        )
    return features


@st.composite
def cases(draw, flavours=tuple(FLAVOURS)) -> tuple[Flavour, list[SpineRow], list[FeatureRow]]:
    """Features, then a spine whose cutoffs often sit exactly on a boundary of some feature row
    (its effective or known time plus the embargo, the ttl or a window length; one month later
    and the next month's start; a nanosecond either side)."""
    flavour = FLAVOURS[draw(st.sampled_from(flavours))]
    features = draw(feature_tables(flavour))
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
            choices = [later(moment, hours) for hours in BOUNDARIES] + month_boundaries(
                moment, flavour
            )
            cutoff = draw(st.sampled_from(choices))
            if flavour.nanos:
                cutoff = later(cutoff, 0, draw(st.sampled_from(NANO_NUDGES)))
            entity = draw(st.one_of(st.just(entity), entities))
        else:
            entity, cutoff = draw(entities), draw(st.one_of(st.none(), moments(flavour)))
        spine_rows.append((entity, cutoff))
    if spine_rows and draw(st.booleans()):
        spine_rows.append(spine_rows[0])  # a duplicate spine row keeps its own output row
    spine = [SpineRow(index, entity, cutoff) for index, (entity, cutoff) in enumerate(spine_rows)]
    return flavour, spine, features


@st.composite
def spines(draw) -> list[SpineRow]:
    flavour = FLAVOURS["grid"]
    rows = draw(st.lists(st.tuples(entities, st.one_of(st.none(), moments(flavour))), max_size=8))
    return [SpineRow(index, entity, moment) for index, (entity, moment) in enumerate(rows)]


# ---- running SQL ---------------------------------------------------------------------------


def as_text(value, nanos: bool) -> str | None:
    """An instant as a timestamp literal the engines parse (`infinity`, year 1, nanoseconds)."""
    if value is None:
        return None
    if math.isinf(value):
        return "infinity" if value > 0 else "-infinity"
    moment, rest = to_datetime(int(value))
    text = f"{moment.year:04d}-{moment:%m-%d %H:%M:%S}.{moment.microsecond:06d}"
    return text + f"{rest:03d}" if nanos else text


def load(cursor, spine, features, history=(), placeholder="?", time_type="timestamp"):
    """Load the tables through text columns cast to `time_type` (the engines' own parsing)."""
    for table in ("spine", "features", "history", "spine_text", "features_text", "history_text"):
        cursor.execute(f"drop table if exists {table}")
    nanos = time_type == "timestamp_ns"
    cursor.execute(
        "create table spine_text (spine_row bigint, entity_id bigint, cutoff_at varchar)"
    )
    cursor.execute(
        "create table features_text (row_id bigint, entity_id bigint, effective_at varchar, "
        "known_at varchar, value double precision, label varchar, superseded_at varchar, "
        "amount bigint)"
    )
    cursor.execute(
        "create table history_text (entity_id bigint, valid_from varchar, valid_to varchar, "
        "value varchar)"
    )
    marks = lambda n: ", ".join([placeholder] * n)  # noqa: E731
    if spine:
        cursor.executemany(
            f"insert into spine_text values ({marks(3)})",
            [(r.spine_row, r.entity_id, as_text(r.cutoff_at, nanos)) for r in spine],
        )
    if features:
        cursor.executemany(
            f"insert into features_text values ({marks(8)})",
            [
                (
                    f.row_id,
                    f.entity_id,
                    as_text(f.effective_at, nanos),
                    as_text(f.known_at, nanos),
                    f.value,
                    f.label,
                    as_text(f.superseded_at, nanos),
                    f.amount,
                )
                for f in features
            ],
        )
    if history:
        cursor.executemany(
            f"insert into history_text values ({marks(4)})",
            [(e, as_text(a, nanos), as_text(b, nanos), v) for e, a, b, v in history],
        )
    cursor.execute(
        f"create table spine as select spine_row, entity_id, cast(cutoff_at as {time_type}) "
        "as cutoff_at from spine_text"
    )
    cursor.execute(
        f"create table features as select row_id, entity_id, cast(effective_at as {time_type}) "
        f"as effective_at, cast(known_at as {time_type}) as known_at, value, label, "
        f"cast(superseded_at as {time_type}) as superseded_at, amount from features_text"
    )
    cursor.execute(
        f"create table history as select entity_id, cast(valid_from as {time_type}) as valid_from, "
        f"cast(valid_to as {time_type}) as valid_to, value from history_text"
    )


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


def same(actual, expected, function: str, reference: dict) -> bool:
    """Counts, min and max exactly; sums and means of integers exactly (means to the last bit
    of a double); floating sums and means within the rounding bound of a sum of n terms,
    relative to the sum of their absolute values (a window without 1e17 must not lose 1.0)."""
    if expected is None or actual is None:
        return actual is None and expected is None
    if function in ("count", "count_distinct", "min", "max"):
        return actual == expected
    if function == "sum" and isinstance(expected, int) and not isinstance(actual, float):
        return int(actual) == expected
    bound = 4 * (reference["n"] + 1) * 2.3e-16 * reference["scale"]
    if function == "mean":
        bound = bound / max(reference["n"], 1) + 1e-15 * abs(float(expected))
    return abs(float(actual) - float(expected)) <= bound


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
            measure=window_measure(case),
        )
        for row in rows:
            values = dict(zip(names, row, strict=True))
            reference = expected[row[0]]
            for function in functions:
                actual = values[f"v_{function}_{window}d"]
                assert same(actual, reference[function], function, reference), (
                    function,
                    window,
                    row,
                    reference,
                    case,
                )


SETTINGS = settings(
    max_examples=examples(60),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


def duckdb_connection():
    connection = duckdb.connect()
    connection.execute("set timezone = 'UTC'")
    return connection


@SETTINGS
@given(case=cases())
def test_point_in_time_join_matches_the_reference_on_duckdb(compiled_duckdb, case):
    flavour, spine, features = case
    connection = duckdb_connection()
    try:
        load(connection, spine, features, time_type=flavour.sql_type)
        for name, join_case in JOIN_CASES.items():
            check_join(connection, compiled_duckdb[name], join_case, spine, features)
    finally:
        connection.close()


@SETTINGS
@given(case=cases())
def test_window_aggregates_match_the_reference_on_duckdb(compiled_duckdb, case):
    flavour, spine, features = case
    connection = duckdb_connection()
    try:
        load(connection, spine, features, time_type=flavour.sql_type)
        for name, window_case in WINDOW_CASES.items():
            check_windows(connection, compiled_duckdb[name], window_case, spine, features)
    finally:
        connection.close()


@st.composite
def histories(draw) -> list[tuple]:
    hours = st.integers(min_value=0, max_value=16).map(lambda step: 6 * step)
    at = lambda hour: instant(BASE + timedelta(hours=hour))  # noqa: E731
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
    connection = duckdb_connection()
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


def at(moment: datetime, nanos: int = 0) -> int:
    return instant(moment, nanos)


def test_a_40_day_old_order_is_outside_the_30_day_window(compiled_duckdb):
    """Windows are computed at the cutoff, not copied from the last event's row: one order on
    day 0 counts in the 30-day window at day 29 and at day 30 minus a microsecond, and no
    longer at day 30 (the window is `(end - 30 days, end]`) or at day 40."""
    expected = {0: 1, 1: 1, 2: 0, 3: 0}
    spine = [
        SpineRow(0, 1, at(BASE + timedelta(days=29))),
        SpineRow(1, 1, at(BASE + timedelta(days=30, microseconds=-1))),
        SpineRow(2, 1, at(BASE + timedelta(days=30))),
        SpineRow(3, 1, at(BASE + timedelta(days=40))),
    ]
    features = [FeatureRow(1, 1, at(BASE), at(BASE), 10.0, "a", None, 10)]
    connection = duckdb_connection()
    try:
        load(connection, spine, features)
        assert MONTH_WINDOW_CASES
        for name in MONTH_WINDOW_CASES:
            names, rows = fetch(connection, compiled_duckdb[name])
            count = names.index("v_count_30d")
            assert {row[0]: row[count] for row in rows} == expected, name
    finally:
        connection.close()


def test_a_month_embargo_ends_at_cutoff_minus_one_month(compiled_duckdb):
    """effective_at Jan 30 12:00 with a one-month embargo: at cutoff Feb 29 (23:59:59.999999
    too), cutoff - 1 month is on Jan 29 and the row may not serve; from Mar 1 00:00 (cutoff -
    1 month = Feb 1) it may. Both implementations, with and without the bitemporal filter,
    strict or not; the 2-day window at Mar 1, (Jan 30 00:00, Feb 1], holds it."""
    spine = [
        SpineRow(0, 1, at(datetime(2024, 2, 29))),
        SpineRow(1, 1, at(datetime(2024, 2, 29, 23, 59, 59, 999999))),
        SpineRow(2, 1, at(datetime(2024, 3, 1))),
    ]
    effective = at(datetime(2024, 1, 30, 12))
    features = [FeatureRow(1, 1, effective, effective, 7.0, "x", None, 7)]
    connection = duckdb_connection()
    try:
        load(connection, spine, features)
        for name, case in JOIN_CASES.items():
            if case["embargo"] != "month" or case["ttl"] != "none":
                continue
            _, rows = fetch(connection, compiled_duckdb[name])
            assert {row[0]: row[3] for row in rows} == {0: None, 1: None, 2: 7.0}, name
        for name, case in WINDOW_CASES.items():
            if case["embargo"] != "month":
                continue
            names, rows = fetch(connection, compiled_duckdb[name])
            counts = {row[0]: dict(zip(names, row, strict=True))["v_count_2d"] for row in rows}
            assert counts == {0: 0, 1: 0, 2: 1}, name
    finally:
        connection.close()


def test_a_row_500_nanoseconds_after_the_cutoff_does_not_serve(compiled_duckdb):
    """TIMESTAMP_NS inputs compare at nanosecond precision in every implementation: a row
    effective 500 ns after the cutoff (or after cutoff - embargo) is not served, one 500 ns
    before is."""
    cutoff = at(datetime(2025, 1, 2), 500)
    for embargo, shift in (("none", 0), ("emb", 6 * HOUR * 1000)):
        spine = [SpineRow(0, 1, cutoff)]
        late = FeatureRow(1, 1, cutoff - shift + 500, cutoff - shift - 10**9, 1.0, "late")
        early = FeatureRow(2, 1, cutoff - shift - 500, cutoff - shift - 10**9, 2.0, "early")
        connection = duckdb_connection()
        try:
            load(connection, spine, [late, early], time_type="timestamp_ns")
            for name, case in JOIN_CASES.items():
                if case["embargo"] != embargo or case["ttl"] != "none":
                    continue
                _, rows = fetch(connection, compiled_duckdb[name])
                assert rows[0][3] == 2.0, (name, rows)
            load(connection, spine, [late], time_type="timestamp_ns")
            for name, case in JOIN_CASES.items():
                if case["embargo"] != embargo or case["ttl"] != "none":
                    continue
                _, rows = fetch(connection, compiled_duckdb[name])
                assert rows[0][3] is None, (name, rows)
        finally:
            connection.close()


def test_float_sums_are_never_running_totals(compiled_duckdb, tmp_path):
    """1e17 and, 40 days later, 1.0: the 30-day sum at day 41 is 1.0. Running totals would give
    1e17 + 1.0 - 1e17 = 0.0, so `auto` must not pick them for a floating column even when
    windows are dense, and an explicit `cumulative` over one is a compile-time error."""
    spine = [SpineRow(0, 1, at(BASE + timedelta(days=41)))]
    features = [
        FeatureRow(1, 1, at(BASE), at(BASE), 1e17, "a", None, 10**17),
        FeatureRow(2, 1, at(BASE + timedelta(days=40)), at(BASE), 1.0, "a", None, 1),
    ]
    calls = {
        "auto_float": "{{ trainset.window_aggregates('spine', 'features', [{'column': 'value', "
        "'functions': ['sum', 'mean', 'count']}], [30], bitemporal=false, "
        "expected_events_per_window=1000) }}",
        "cumulative_decimal": "{{ trainset.window_aggregates('spine', 'features', [{'column': "
        "'cast(value as decimal(38, 2))', 'functions': ['sum'], 'name': 'd'}, {'column': "
        "'amount::hugeint', 'functions': ['sum'], 'name': 'a'}], [30], bitemporal=false, "
        "method='cumulative') }}",
    }
    compiled = compile_calls(calls, tmp_path / "ok")
    connection = duckdb_connection()
    try:
        load(connection, spine, features)
        assert connection.sql(compiled["auto_float"]).fetchall()[0][3:] == (1.0, 1.0, 1)
        assert connection.sql(compiled["cumulative_decimal"]).fetchall()[0][3:] == (1, 1)
    finally:
        connection.close()
    assert "window_running" not in compiled["auto_float"]  # the range join
    assert "window_running" in compiled["cumulative_decimal"]  # running totals, exact here
    with pytest.raises(RuntimeError, match=r"float_sum.*cumulative.*value.*exact only"):
        compile_calls(
            {
                "float_sum": "{{ trainset.window_aggregates('spine', 'features', [{'column': "
                "'value', 'functions': ['sum']}], [30], bitemporal=false, method='cumulative') }}"
            },
            tmp_path / "error",
        )


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            "trainset.point_in_time_join('spine', [{'relation': 'features', 'columns': ['value'], "
            "'ttl': '0 hours'}])",
            r"model 'bad_argument'.*ttl '0 hours' is zero",
        ),
        (
            "trainset.point_in_time_join('spine', [{'relation': 'features', 'columns': ['value'], "
            "'embargo': '-1 hour'}])",
            r"model 'bad_argument'.*embargo '-1 hour' is negative",
        ),
        (
            "trainset.window_aggregates('spine', 'features', [{'column': 'value', "
            "'functions': ['sum']}], [0])",
            r"model 'bad_argument'.*window 0 is not a positive",
        ),
        (
            "trainset.default__point_in_time_join('spine', [{'relation': 'features', "
            "'columns': ['value'], 'ttl': 'soon'}], 'entity_id', 'cutoff_at')",
            r"model 'bad_argument'.*ttl 'soon' is not an interval",
        ),
    ],
)
def test_a_ttl_window_or_embargo_that_is_not_positive_fails_to_compile(tmp_path, call, message):
    with pytest.raises(RuntimeError, match=message):
        compile_calls({"bad_argument": f"{{{{ {call} }}}}"}, tmp_path)


def test_timezone_aware_cutoffs_compare_as_utc_instants(tmp_path):
    """A spine in timestamptz (+02:00 offsets) against naive-UTC features."""
    calls = {
        "tz": "{{ trainset.point_in_time_join('spine', [{'relation': 'features', 'columns': ['value'], 'tiebreak_column': 'row_id'}], 'entity_id', 'cutoff_at') }}"
    }
    sql = compile_calls(calls, tmp_path)["tz"]
    connection = duckdb.connect()
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
    max_examples=examples(40),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(case=cases(flavours=("grid", "month", "ancient", "infinite")))
def test_portable_macros_match_the_reference_on_postgres(postgres, compiled_postgres, case):
    flavour, spine, features = case
    connection = postgres.connect()
    try:
        cursor = connection.cursor()
        load(cursor, spine, features, placeholder="%s", time_type=flavour.sql_type)
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
    spine = [
        SpineRow(0, 1, at(BASE + timedelta(hours=18))),
        SpineRow(1, 2, at(BASE + timedelta(hours=18))),
    ]
    features = [
        FeatureRow(9, 1, at(noon), at(noon), 1.0, "original"),
        FeatureRow(3, 1, at(noon), at(noon + timedelta(hours=6)), 2.0, "correction"),
        FeatureRow(1, 1, at(noon), at(noon + timedelta(hours=7)), 3.0, "too late"),
        FeatureRow(4, 2, at(noon), at(noon), 4.0, "smaller key"),
        FeatureRow(5, 2, at(noon), at(noon), 5.0, "larger key"),
    ]
    connection = duckdb_connection()
    try:
        load(connection, spine, features)
        for name, case in JOIN_CASES.items():
            if not case["bitemporal"] or case["embargo"] != "none" or case["strict"]:
                continue
            _, rows = fetch(connection, compiled_duckdb[name])
            assert {row[0]: row[4] for row in rows} == {0: "correction", 1: "larger key"}, name
    finally:
        connection.close()
