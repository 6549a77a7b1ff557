"""`classify_duplicates` on DuckDB (keys with one row skip the ranking windows) against the
portable implementation and against the documented rules recomputed in plain Python, on rows
made to collide: shared keys and payloads, ties in load time, null keys and payloads, rows that
failed a row check (null load times among them), composite keys, versioned and not."""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import datetime, timedelta

import pytest

from trainset.compile import compile_macro_calls
from trainset.project import connect_duckdb

COLUMNS = (
    "k1, k2, p1, p2, loaded_at, row_quarantine_reason, duplicate_rank, payload_first_loaded_at, "
    "payloads_first_seen_together, key_first_loaded_at, has_conflicting_duplicate, "
    "quarantine_reason"
)
CALL = """
with checked as (select * from checked_rows),
{{{{ trainset.{macro}('checked', ['k1', 'k2'], ['p1', 'p2'], versioned={versioned}) }}}}
select * from classified
"""


def make_rows(seed: int, count: int) -> list[tuple]:
    """(row_id, k1, k2, p1, p2, loaded_at, row_quarantine_reason): half the rows on a few
    shared keys, half on keys of their own; four load times, so ties are common."""
    rng = random.Random(seed)
    loads = [datetime(2025, 1, 1) + timedelta(hours=hour) for hour in (0, 1, 1, 5, 9)]
    rows = []
    for row_id in range(count):
        shared = rng.random() < 0.5
        k1 = rng.choice([1, 2, 3, None]) if shared else 1000 + row_id
        k2 = rng.choice([0, 1]) if shared else 0
        invalid = rng.random() < 0.15
        loaded_at = None if invalid and rng.random() < 0.3 else rng.choice(loads)
        rows.append(
            (
                row_id,
                k1,
                k2,
                rng.choice(["a", "b", None]),
                rng.choice([0, 1]),
                loaded_at,
                "some_check" if invalid else None,
            )
        )
    return rows


def reference(rows: list[tuple], versioned: bool) -> list[tuple]:
    """The rules of the macro's header, row by row, in the order of COLUMNS (without row_id)."""
    groups: dict[tuple, list[tuple]] = defaultdict(list)
    for row in rows:
        _, k1, k2, p1, p2, _, reason = row
        if reason is not None:
            continue
        groups[(reason is None, k1, k2, p1, p2)].append(row)
    payload_first, rank = {}, {}
    for group, members in groups.items():
        loaded = [row[5] for row in members if row[5] is not None]
        payload_first[group] = min(loaded) if loaded else None
        ordered = sorted(members, key=lambda row: (row[5] is None, row[5] or datetime.min))
        for position, row in enumerate(ordered, start=1):
            rank[row[0]] = position
    together: dict[tuple, int] = defaultdict(int)
    key_first: dict[tuple, datetime | None] = {}
    for (valid, k1, k2, _, _), first in payload_first.items():
        together[(valid, k1, k2, first)] += 1
        known = [value for value in (key_first.get((valid, k1, k2)), first) if value is not None]
        key_first[(valid, k1, k2)] = min(known) if known else None
    expected = []
    for row in rows:
        row_id, k1, k2, p1, p2, loaded_at, reason = row
        valid = reason is None
        if not valid:
            # A row that failed a row check is its own first copy, whatever other rows hold.
            expected.append(
                (k1, k2, p1, p2, loaded_at, reason, 1, loaded_at, 1, loaded_at, False, reason)
            )
            continue
        first = payload_first[(valid, k1, k2, p1, p2)]
        seen_together = together[(valid, k1, k2, first)]
        key_first_loaded_at = key_first[(valid, k1, k2)]
        # valid rows always have a load time here, so no comparison below meets a null
        conflict = valid and (seen_together > 1 or (not versioned and first > key_first_loaded_at))
        expected.append(
            (
                k1,
                k2,
                p1,
                p2,
                loaded_at,
                reason,
                rank[row_id],
                first,
                seen_together,
                key_first_loaded_at,
                conflict,
                reason if reason is not None else ("conflicting_duplicate" if conflict else None),
            )
        )
    return expected


@pytest.fixture(scope="module")
def compiled(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    calls = {
        f"{macro}_{versioned}": CALL.format(macro=macro, versioned=versioned)
        for macro in ("duckdb__classify_duplicates", "default__classify_duplicates")
        for versioned in ("true", "false")
    }
    workdir = tmp_path_factory.mktemp("classify")
    return compile_macro_calls(calls, workdir, macro_folders=("utils",))


@pytest.mark.parametrize("versioned", ["true", "false"])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_duckdb_classification_equals_the_portable_one_and_the_rules(
    compiled, tmp_path, versioned, seed
):
    rows = make_rows(seed, 400)
    connection = connect_duckdb(tmp_path / "classify.duckdb")
    try:
        connection.execute("set threads = 2")
        connection.execute(
            "create table checked_rows (row_id integer, k1 integer, k2 integer, p1 varchar, "
            "p2 integer, loaded_at timestamp, row_quarantine_reason varchar)"
        )
        connection.executemany("insert into checked_rows values (?, ?, ?, ?, ?, ?, ?)", rows)
        results = {}
        for macro in ("duckdb__classify_duplicates", "default__classify_duplicates"):
            sql = compiled[f"{macro}_{versioned}"]
            relation = connection.sql(sql)
            results[macro] = (
                list(zip(relation.columns, relation.types, strict=True)),
                sorted(connection.sql(f"select {COLUMNS} from ({sql})").fetchall(), key=repr),
            )
    finally:
        connection.close()
    fast_columns, fast_rows = results["duckdb__classify_duplicates"]
    portable_columns, portable_rows = results["default__classify_duplicates"]
    assert fast_columns == portable_columns
    assert fast_rows == portable_rows
    assert fast_rows == sorted(reference(rows, versioned == "true"), key=repr)
    # the data exercises both paths and every outcome
    ranks = {row[6] for row in fast_rows}
    assert {1, 2} <= ranks
    assert any(row[11] == "conflicting_duplicate" for row in fast_rows)
    assert any(row[8] > 1 for row in fast_rows)
