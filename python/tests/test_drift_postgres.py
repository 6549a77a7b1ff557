"""The drift macro on PostgreSQL and on DuckDB: the same inputs give the same rows (1e-9).

The portable SQL (`default__feature_drift`) is compiled for a throwaway PostgreSQL server and
the DuckDB build for DuckDB; both run over tables filled with the same generated cases (the
ones of `test_drift_statistics.py`: shifted samples, ties, nulls and infinities, unseen
categories, constant and all-null columns, large references, values on histogram edges) with
every method, and each feature's method, statistic, p-value, score and verdict must agree.
The Kolmogorov-Smirnov p-value above 10000 values a side is compared branch by branch on the
large-current cases.
"""

from __future__ import annotations

import math

import pytest

from pit_harness import start_postgres
from test_drift_statistics import CASES, FORCED, LARGE_CURRENT, _run, _spec
from trainset.compile import compile_macro_calls

pytestmark = pytest.mark.postgres

CALLS = {"auto": _spec()} | {method: _spec(method, kinds=kinds) for method, kinds in FORCED.items()}
JINJA = {
    name: f"{{{{ trainset.feature_drift('reference_rows', 'current_rows', {spec}) }}}}"
    for name, spec in CALLS.items()
}
# Forced methods on the cases that cover the edges (ties, nulls and infinities, an unseen
# category, constant and all-null columns, large references, values on histogram edges); the
# default methods on every case.
EDGE_CASES = [
    case
    for case in CASES
    if case[0].startswith(("integer ties", "nulls", "category unseen", "constant", "all null"))
    or case[0].startswith(("large reference, shifted", "values on histogram edges"))
]
COMPARED = ["method", "statistic", "p_value", "p_value_method", "score", "threshold", "is_drifted"]


@pytest.fixture(scope="module")
def postgres():
    yield from start_postgres()


@pytest.fixture(scope="module")
def compiled(postgres, tmp_path_factory) -> dict[str, dict[str, str]]:
    folder = tmp_path_factory.mktemp("drift_engines")
    return {
        "duckdb": compile_macro_calls(JINJA, folder / "duckdb", macro_folders=("monitoring",)),
        "postgres": compile_macro_calls(
            JINJA, folder / "pg", target="pg", pg_port=postgres.port, macro_folders=("monitoring",)
        ),
    }


def _run_postgres(connection, sql: str, reference: dict, current: dict) -> dict[str, dict]:
    from psycopg2.extras import execute_values

    cursor = connection.cursor()
    for table, columns in [("reference_rows", reference), ("current_rows", current)]:
        cursor.execute(f"drop table if exists {table}")
        cursor.execute(f"create table {table} (num double precision, cat varchar)")
        execute_values(
            cursor,
            f"insert into {table} values %s",
            list(zip(columns["num"], columns["cat"], strict=True)),
            page_size=5000,
        )
    cursor.execute(sql)
    names = [column.name for column in cursor.description]
    rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    connection.commit()
    return {row["feature_name"]: row for row in rows}


def _same(left, right) -> bool:
    if left is None or right is None:
        return left is None and right is None
    if isinstance(left, (bool, str)):
        return left == right
    left, right = float(left), float(right)
    if math.isnan(left) or math.isnan(right):
        return math.isnan(left) and math.isnan(right)
    if math.isinf(left) or math.isinf(right):
        return left == right
    return math.isclose(left, right, rel_tol=1e-9, abs_tol=1e-9)


@pytest.mark.parametrize("call", sorted(CALLS))
def test_postgres_and_duckdb_give_the_same_drift(postgres, compiled, call) -> None:
    connection = postgres.connect()
    compared = 0
    try:
        for name, reference, current in CASES if call == "auto" else EDGE_CASES:
            if call == "ks" and max(len(reference["num"]), len(current["num"])) > 1000:
                continue  # the exact lattice count on both engines: the smaller cases
            on_duckdb = _run(compiled["duckdb"][call], reference, current)
            on_postgres = _run_postgres(connection, compiled["postgres"][call], reference, current)
            assert sorted(on_duckdb) == sorted(on_postgres), (call, name)
            for feature, row in on_duckdb.items():
                for column in COMPARED:
                    assert _same(row[column], on_postgres[feature][column]), (
                        call,
                        name,
                        feature,
                        column,
                        row[column],
                        on_postgres[feature][column],
                    )
                compared += 1
    finally:
        connection.close()
    assert compared >= 5


@pytest.mark.parametrize("case", LARGE_CURRENT, ids=[case[0] for case in LARGE_CURRENT])
def test_large_current_ks_is_the_same_on_both_engines(postgres, compiled, case) -> None:
    name, reference, current, _ = case
    reference = {"num": list(map(float, reference)), "cat": ["a"] * len(reference)}
    current = {"num": list(map(float, current)), "cat": ["a"] * len(current)}
    on_duckdb = _run(compiled["duckdb"]["ks"], reference, current)["num"]
    connection = postgres.connect()
    try:
        on_postgres = _run_postgres(connection, compiled["postgres"]["ks"], reference, current)
    finally:
        connection.close()
    for column in COMPARED:
        assert _same(on_duckdb[column], on_postgres["num"][column]), (
            name,
            column,
            on_duckdb[column],
            on_postgres["num"][column],
        )
