"""The population stability index (`population_stability`, behind `mon_feature_drift`) against a
NumPy reference, and its two cut-point implementations against each other.

The macro is compiled once by dbt and run on DuckDB over tables each case fills. The reference
recomputes from the raw values: the reference's deciles by linear interpolation
(`numpy.quantile`, the definition of `percentile_cont`), each value in the first bin whose cut
point it does not exceed (nulls in a bin of their own), shares floored at 0.0001, and
PSI = sum((current - reference) * ln(current / reference)). DuckDB's cut points (one quantile
aggregate for all of them) and the portable ones (one `percentile_cont` per cut point, what
PostgreSQL and Spark run) must be the same numbers on the same rows.

Cases: shifted and unshifted normal samples, heavy ties (few distinct integers), nulls, values
exactly on cut points, a constant column, huge and tiny magnitudes, one column all null in the
current rows, one all null in the reference (no cut points: every value in the last bin).
"""

from __future__ import annotations

import math

import duckdb
import numpy as np
import pyarrow as pa
import pytest

from trainset.compile import compile_macro_calls

COLUMNS = ["a", "b"]
BINS = 10
FLOOR = 0.0001


@pytest.fixture(scope="module")
def compiled(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    arguments = f"'reference_rows', {COLUMNS!r}, {BINS}"
    return compile_macro_calls(
        {
            "psi": f"{{{{ trainset.population_stability('reference_rows', 'current_rows', "
            f"{COLUMNS!r}) }}}}",
            "duckdb_cuts": f"{{{{ trainset.duckdb__psi_cut_points({arguments}) }}}}",
            "portable_cuts": f"{{{{ trainset.default__psi_cut_points({arguments}) }}}}",
        },
        tmp_path_factory.mktemp("psi_compile"),
        macro_folders=("monitoring",),
    )


def _connect(reference: dict[str, list], current: dict[str, list]) -> duckdb.DuckDBPyConnection:
    connection = duckdb.connect()
    connection.execute("set TimeZone = 'UTC'")
    for table, columns in [("reference_rows", reference), ("current_rows", current)]:
        frame = pa.table({name: pa.array(columns[name], pa.float64()) for name in COLUMNS})
        connection.register(f"{table}_arrow", frame)
        connection.execute(f"create table {table} as select * from {table}_arrow")
    return connection


def _bin(value: float | None, cuts: list[float | None]) -> int:
    """-1 for a null; else the first bin whose cut point the value does not exceed (a null cut
    point takes nothing), or the last."""
    if value is None:
        return -1
    for step, cut in enumerate(cuts, start=1):
        if cut is not None and value <= cut:
            return step
    return BINS


def _reference_cuts(reference: list) -> list[float | None]:
    """The deciles of the non-null values, interpolated linearly; none (null) without values."""
    present = [value for value in reference if value is not None]
    if not present:
        return [None] * (BINS - 1)
    steps = [step / BINS for step in range(1, BINS)]
    return [float(cut) for cut in np.quantile(present, steps, method="linear")]


def _reference_psi(reference: list, current: list) -> float:
    cuts = _reference_cuts(reference)

    def shares(values: list) -> dict[int, float]:
        counts: dict[int, int] = {}
        for value in values:
            bin_ = _bin(value, cuts)
            counts[bin_] = counts.get(bin_, 0) + 1
        return {bin_: count / len(values) for bin_, count in counts.items()}

    left, right = shares(reference), shares(current)
    total = 0.0
    for bin_ in set(left) | set(right):
        r = max(left.get(bin_, 0.0), FLOOR)
        c = max(right.get(bin_, 0.0), FLOOR)
        total += (c - r) * math.log(c / r)
    return round(total, 12)


def _cases() -> dict[str, tuple[dict[str, list], dict[str, list]]]:
    generator = np.random.default_rng(20261130)

    def normal(size: int, shift: float = 0.0, scale: float = 1.0) -> list:
        return [float(value) for value in generator.normal(shift, 1.0, size) * scale]

    ties = [float(value) for value in generator.integers(0, 4, 500)]
    with_nulls = [None if i % 7 == 0 else value for i, value in enumerate(normal(400))]
    # Each decile falls inside a run of equal values, so the cut points are exactly 1 to 9 in
    # any implementation, and values equal to them test the `<=` of the bins.
    on_cuts = [0.0] * 50 + [float(k) for k in range(1, 10) for _ in range(100)] + [10.0] * 50
    return {
        "shifted": (
            {"a": normal(1000), "b": normal(800)},
            {"a": normal(300, 0.5), "b": normal(300)},
        ),
        "ties and nulls": (
            {"a": ties, "b": with_nulls},
            {"a": [float(value) for value in generator.integers(1, 6, 200)], "b": normal(150)},
        ),
        "values on the cut points": (
            {"a": on_cuts, "b": [5.0] * 50},
            {"a": [float(k) for k in range(1, 10)] * 3 + [0.5, 9.5], "b": [5.0, 4.0, 6.0]},
        ),
        "huge and tiny magnitudes": (
            {"a": normal(600, scale=1e300), "b": normal(600, scale=1e-300)},
            {"a": normal(200, 1.0, scale=1e300), "b": normal(200, scale=1e-300)},
        ),
        "current all null in one column": (
            {"a": normal(100), "b": normal(100)},
            {"a": [None] * 40, "b": normal(40)},
        ),
        "reference all null in one column": (
            {"a": normal(100), "b": [None] * 30},
            {"a": normal(40), "b": normal(20)},
        ),
    }


def _padded(columns: dict[str, list]) -> dict[str, list]:
    """The columns as one table's: shorter ones filled with nulls to the longest's length."""
    rows = max(len(values) for values in columns.values())
    return {name: values + [None] * (rows - len(values)) for name, values in columns.items()}


CASES = {
    name: (_padded(reference), _padded(current)) for name, (reference, current) in _cases().items()
}


@pytest.mark.parametrize("case", list(CASES))
def test_psi_matches_the_numpy_reference(compiled, case):
    reference, current = CASES[case]
    connection = _connect(reference, current)
    try:
        rows = connection.sql(compiled["psi"]).fetchall()
    finally:
        connection.close()
    assert sorted(name for name, *_ in rows) == COLUMNS
    for name, psi, reference_rows, current_rows in rows:
        assert (reference_rows, current_rows) == (len(reference[name]), len(current[name]))
        expected = _reference_psi(reference[name], current[name])
        assert psi is not None
        assert math.isclose(psi, expected, rel_tol=1e-9, abs_tol=1e-9), (name, psi, expected)


@pytest.mark.parametrize("case", list(CASES))
def test_duckdb_and_portable_cut_points_agree(compiled, case):
    reference, current = CASES[case]
    connection = _connect(reference, current)
    try:
        duckdb_cuts = sorted(connection.sql(compiled["duckdb_cuts"]).fetchall())
        portable_cuts = sorted(connection.sql(compiled["portable_cuts"]).fetchall())
    finally:
        connection.close()
    assert [row[0] for row in duckdb_cuts] == COLUMNS
    assert duckdb_cuts == portable_cuts
    for name, *cuts in duckdb_cuts:
        expected = _reference_cuts(reference[name])
        assert len(cuts) == BINS - 1
        for got, want in zip(cuts, expected, strict=True):
            if want is None:
                assert got is None, (name, got)
            else:
                assert math.isclose(got, want, rel_tol=1e-12, abs_tol=0.0), (name, got, want)
