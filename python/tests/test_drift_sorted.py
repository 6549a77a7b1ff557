"""DuckDB's sorted route of `feature_drift` against the portable query and a numpy recount.

On DuckDB, numeric features that may take Kolmogorov-Smirnov or Wasserstein and look continuous
are sorted once instead of counted per distinct value (`duckdb__feature_drift`). Both queries
are compiled once and run on the same tables: every column of every feature must agree within
1e-9, the sorted features must be the continuous ones, and their counts, largest gap and area
between the two distribution functions must match a recount from the raw values in numpy.
"""

from __future__ import annotations

import math

import duckdb
import numpy as np
import pyarrow as pa
import pytest

from conftest import same_value
from trainset.compile import compile_macro_calls

FEATURES = [
    {"name": "smooth", "kind": "numeric"},
    {"name": "forced_ks", "kind": "numeric", "method": "ks"},
    {"name": "counts", "kind": "numeric"},
    {"name": "forced_psi", "kind": "numeric", "method": "psi"},
    {"name": "label", "kind": "categorical"},
]
SORTED = {"smooth", "forced_ks"}


@pytest.fixture(scope="module")
def compiled(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    calls = {
        "duckdb": f"{{{{ trainset.feature_drift('reference_rows', 'current_rows', {FEATURES!r}) }}}}",
        "portable": (
            "{{ trainset.default__feature_drift('reference_rows', 'current_rows', "
            f"{FEATURES!r}) }}}}"
        ),
    }
    return compile_macro_calls(
        calls, tmp_path_factory.mktemp("drift_sorted"), macro_folders=("monitoring",)
    )


def _side(rng: np.random.Generator, rows: int, scale: float, nulls: bool) -> dict[str, list]:
    smooth = np.round(rng.gamma(2.0, scale, rows), 2)
    smooth[: rows // 10] = 42.0  # a long run of equal values on top of the rounding ties
    values: dict[str, list] = {
        "smooth": smooth.tolist(),
        "forced_ks": np.round(rng.normal(scale, 10.0, rows), 3).tolist(),
        "counts": rng.poisson(scale / 20, rows).astype(float).tolist(),
        "forced_psi": rng.gamma(2.0, scale, rows).tolist(),
        "label": rng.choice(list("abcde"), rows).tolist(),
    }
    if nulls:
        for name in ("smooth", "forced_ks"):
            values[name][1] = None
            values[name][2] = math.inf
            values[name][3] = -math.inf
            values[name][4] = math.nan
    return values


def _cases() -> list[tuple[str, dict, dict]]:
    rng = np.random.default_rng(20261130)
    all_null = _side(rng, 200, 50.0, True)
    all_null["smooth"] = [None] * 200
    return [
        ("large shifted", _side(rng, 12000, 50.0, True), _side(rng, 11000, 60.0, True)),
        ("large same", _side(rng, 11000, 50.0, False), _side(rng, 12000, 50.0, True)),
        ("small", _side(rng, 150, 50.0, True), _side(rng, 120, 55.0, False)),
        ("current all null", _side(rng, 150, 50.0, False), all_null),
    ]


def _load(connection: duckdb.DuckDBPyConnection, reference: dict, current: dict) -> None:
    for table, columns in [("reference_rows", reference), ("current_rows", current)]:
        frame = pa.table(
            {
                name: pa.array(values, pa.string() if name == "label" else pa.float64())
                for name, values in columns.items()
            }
        )
        connection.register(f"{table}_arrow", frame)
        connection.execute(f"create or replace table {table} as select * from {table}_arrow")


def _rows(connection: duckdb.DuckDBPyConnection, sql: str) -> dict[str, dict]:
    result = connection.sql(sql)
    return {row[0]: dict(zip(result.columns, row, strict=True)) for row in result.fetchall()}


def _recount(reference: list, current: list) -> dict:
    """Counts, distinct values, largest gap and area between the two empirical distribution
    functions, from the raw values."""
    ref = np.array([v for v in reference if v is not None and math.isfinite(v)])
    cur = np.array([v for v in current if v is not None and math.isfinite(v)])
    pooled = np.unique(np.concatenate([ref, cur]))
    if len(cur) == 0:
        return {"reference_count": len(ref), "current_count": 0, "distinct_count": len(pooled)}
    ref_cdf = np.searchsorted(np.sort(ref), pooled, side="right") / len(ref)
    cur_cdf = np.searchsorted(np.sort(cur), pooled, side="right") / len(cur)
    gaps = np.abs(ref_cdf - cur_cdf)
    return {
        "reference_count": len(ref),
        "current_count": len(cur),
        "distinct_count": len(pooled),
        "largest_gap": float(gaps.max()),
        "area": float(np.sum(gaps[:-1] * np.diff(pooled))),
        "std_pop": float(ref.std()),
    }


@pytest.mark.parametrize("case", _cases(), ids=lambda case: case[0])
def test_sorted_route_equals_portable_query_and_recount(compiled, case) -> None:
    name, reference, current = case
    connection = duckdb.connect()
    connection.execute("set TimeZone = 'UTC'")
    try:
        _load(connection, reference, current)
        fast = _rows(connection, compiled["duckdb"])
        portable = _rows(connection, compiled["portable"])
        body = compiled["duckdb"].rstrip()
        assert body.endswith("select * from verdicts"), body[-200:]
        routed = {
            row[0]
            for row in connection.sql(
                body.removesuffix("select * from verdicts")
                + "select feature_name from sorted_summary"
            ).fetchall()
        }
    finally:
        connection.close()

    # routed by the reference's first rows: an empty current side changes nothing
    assert routed == SORTED, (name, routed)
    assert sorted(fast) == sorted(portable) == sorted(f["name"] for f in FEATURES)
    for feature, row in fast.items():
        for column, value in row.items():
            assert same_value(value, portable[feature][column]), (name, feature, column, value)

    for feature in SORTED:
        row = fast[feature]
        truth = _recount(reference[feature], current[feature])
        assert row["reference_count"] == truth["reference_count"], (name, feature)
        assert row["current_count"] == truth["current_count"], (name, feature)
        assert row["distinct_count"] == truth["distinct_count"], (name, feature)
        if row["method"] == "none":
            assert truth["current_count"] == 0, (name, feature)
        elif row["method"] == "wasserstein":
            expected = truth["area"] / max(truth["std_pop"], 0.001)
            assert math.isclose(row["statistic"], expected, rel_tol=1e-9), (name, feature)
        else:
            assert row["method"] == "ks", (name, feature, row["method"])
            assert math.isclose(row["statistic"], truth["largest_gap"], rel_tol=1e-9), (
                name,
                feature,
            )


def test_portable_query_has_no_sorted_route(compiled) -> None:
    """The dispatch: PostgreSQL and Spark read the portable query, which counts every value."""
    assert "sorted_summary" in compiled["duckdb"]
    assert "sorted_summary" not in compiled["portable"]
