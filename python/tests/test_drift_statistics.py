"""The drift macro (`feature_drift`) against a scipy reference, case by case, within 1e-9.

The macro is compiled once by dbt, then run on DuckDB over tables that each case fills. The
reference (`drift_reference.py`) recomputes every method from the raw values with scipy.
Cases: shifted and unshifted samples, equal and unequal sizes, ties, nulls and infinities,
empty histogram bins, values exactly on bin edges, an all-null column, constant columns, one
category, categories unseen in the reference, small and large references, forced methods and
thresholds.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pytest

from drift_reference import drift
from trainset.compile import compile_macro_calls

FORCED = {
    "ks": ["numeric"],
    "wasserstein": ["numeric"],
    "chisquare": ["numeric", "categorical"],
    "z": ["numeric", "categorical"],
    "jensenshannon": ["numeric", "categorical"],
    "psi": ["numeric", "categorical"],
}


def _spec(method: str | None = None, threshold: float | None = None, kinds=None) -> str:
    features = []
    for name, kind in [("num", "numeric"), ("cat", "categorical")]:
        if kinds is not None and kind not in kinds:
            continue
        feature: dict[str, Any] = {"name": name, "kind": kind}
        if method:
            feature["method"] = method
        if threshold is not None:
            feature["threshold"] = threshold
        features.append(feature)
    return repr(features)


@pytest.fixture(scope="module")
def compiled(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    calls = {"auto": _spec(), "threshold": _spec(threshold=0.5)}
    calls["erfc"] = None
    for method, kinds in FORCED.items():
        calls[method] = _spec(method, kinds=kinds)
    jinja = {
        name: f"{{{{ trainset.feature_drift('reference_rows', 'current_rows', {spec}) }}}}"
        for name, spec in calls.items()
        if spec is not None
    }
    jinja["erfc"] = "select x, {{ trainset.drift_erfc('x') }} as value from grid"
    return compile_macro_calls(
        jinja, tmp_path_factory.mktemp("drift_compile"), macro_folders=("monitoring",)
    )


def _run(sql: str, reference: dict[str, list], current: dict[str, list]) -> dict[str, dict]:
    connection = duckdb.connect()
    connection.execute("set TimeZone = 'UTC'")
    try:
        for table, columns in [("reference_rows", reference), ("current_rows", current)]:
            frame = pa.table(
                {
                    "num": pa.array(columns["num"], pa.float64(), from_pandas=False),
                    "cat": pa.array(columns["cat"], pa.string()),
                }
            )
            connection.register(f"{table}_arrow", frame)
            connection.execute(f"create table {table} as select * from {table}_arrow")
        result = connection.sql(sql)
        records = [dict(zip(result.columns, row, strict=True)) for row in result.fetchall()]
    finally:
        connection.close()
    return {record["feature_name"]: record for record in records}


def _close(actual: float | None, expected: float | None) -> bool:
    if expected is None or (isinstance(expected, float) and math.isnan(expected)):
        return actual is None or math.isnan(actual)
    if actual is None:
        return False
    if math.isinf(expected):
        return math.isinf(actual) and (actual > 0) == (expected > 0)
    return math.isclose(actual, expected, rel_tol=1e-9, abs_tol=1e-9)


def _check(row: dict, expected: dict, label: str) -> None:
    assert row["method"] == expected["method"], (label, row, expected)
    assert _close(row["score"], expected["score"]), (label, row["score"], expected["score"])
    if expected["method"] != "none":
        assert _close(row["statistic"], expected["statistic"]) or expected["method"] == "z", (
            label,
            row["statistic"],
            expected["statistic"],
        )
        assert row["threshold"] == pytest.approx(expected["threshold"])
    assert row["is_drifted"] == expected["drifted"], (label, row, expected)


def _plain(values, kind) -> list:
    return [None if value is None else kind(value) for value in values]


def _cases() -> list[tuple[str, dict, dict]]:
    rng = np.random.default_rng(20261129)
    letters = np.array(list("abcdefg"))
    cases = []

    def add(name: str, ref_num, ref_cat, cur_num, cur_cat) -> None:
        cases.append(
            (
                name,
                {"num": _plain(ref_num, float), "cat": _plain(ref_cat, str)},
                {"num": _plain(cur_num, float), "cat": _plain(cur_cat, str)},
            )
        )

    for n1, n2, shift in [(60, 80, 0.0), (100, 100, 0.4), (150, 37, 0.8), (300, 450, 0.15)]:
        add(
            f"normal {n1}x{n2} shift {shift}",
            rng.normal(0, 1, n1),
            rng.choice(letters[:4], n1),
            rng.normal(shift, 1, n2),
            rng.choice(letters[:4], n2, p=[0.4, 0.3, 0.2, 0.1]),
        )
    add(
        "integer ties",
        rng.integers(0, 12, 200),
        rng.choice(letters[:3], 200),
        rng.integers(1, 13, 150),
        rng.choice(letters[:3], 150),
    )
    ref = rng.normal(0, 1, 120).tolist()
    cur = rng.normal(0.3, 1, 90).tolist()
    ref[:7] = [None, None, float("inf"), float("-inf"), float("nan"), None, None]
    cur[:3] = [None, float("inf"), None]
    add(
        "nulls and infinities",
        ref,
        [None] * 10 + rng.choice(letters[:5], 110).tolist(),
        cur,
        rng.choice(letters[:5], 87).tolist() + [None] * 3,
    )
    add(
        "category unseen in the reference",
        rng.normal(0, 1, 80),
        rng.choice(letters[:3], 80),
        rng.normal(0, 1, 70),
        rng.choice(letters[:4], 70),
    )
    add("constant columns, one category", [3.0] * 50, ["a"] * 50, [3.0] * 40, ["a"] * 40)
    add(
        "binary values",
        rng.integers(0, 2, 90),
        rng.choice(letters[:2], 90),
        (rng.random(110) < 0.7).astype(int),
        rng.choice(letters[:2], 110, p=[0.8, 0.2]),
    )
    add(
        "one category in the reference, two in the current",
        [1.0] * 40,
        ["a"] * 40,
        [1.0] * 30 + [2.0] * 5,
        ["a"] * 30 + ["b"] * 5,
    )
    add(
        "four values",
        rng.integers(0, 4, 200),
        rng.choice(letters[:4], 200),
        rng.integers(0, 4, 120),
        rng.choice(letters[1:5], 120),
    )
    add("all null", [None] * 30, [None] * 30, rng.normal(0, 1, 30), rng.choice(letters[:3], 30))
    # large references: Wasserstein and Jensen-Shannon
    add(
        "large reference, shifted",
        rng.normal(0, 1, 1500),
        rng.choice(letters[:6], 1500),
        rng.normal(0.2, 1.3, 900),
        rng.choice(letters[:7], 900),
    )
    add(
        "large reference, three values",
        rng.integers(0, 3, 1200),
        rng.choice(letters[:2], 1200),
        rng.integers(0, 3, 2000),
        rng.choice(letters[:2], 2000, p=[0.3, 0.7]),
    )
    near_constant = [0.0] * 1400 + [0.0005] * 3 + rng.normal(0, 0.0001, 10).tolist()
    add(
        "large reference, spread below the floor",
        near_constant,
        ["a"] * 1413,
        [0.0] * 500 + rng.normal(0, 0.0002, 20).tolist(),
        ["a"] * 520,
    )
    # 128 + 128 pooled values in 0.5 steps from 0 to 18: Sturges gives 9 bins of width 2, so
    # every even value sits exactly on a bin edge; the current leaves bins empty.
    steps = np.arange(0, 18.5, 0.5)
    add(
        "values on histogram edges, empty bins",
        np.resize(steps, 128),
        np.resize(letters[:5], 128),
        np.concatenate([[0.0, 18.0], rng.choice(steps[steps <= 6], 126)]),
        np.resize(letters[:2], 128),
    )
    return cases


CASES = _cases()


@pytest.mark.parametrize("case", CASES, ids=[case[0] for case in CASES])
def test_default_methods_match_the_scipy_reference(compiled, case) -> None:
    name, reference, current = case
    rows = _run(compiled["auto"], reference, current)
    for column, kind in [("num", "numeric"), ("cat", "categorical")]:
        expected = drift(reference[column], current[column], kind)
        _check(rows[column], expected, f"{name}/{column}")


@pytest.mark.parametrize("method", sorted(FORCED))
def test_forced_methods_match_the_scipy_reference(compiled, method) -> None:
    checked = 0
    for name, reference, current in CASES:
        if method == "ks" and max(len(reference["num"]), len(current["num"])) > 1000:
            continue  # the exact lattice count is checked on the smaller cases
        rows = _run(compiled[method], reference, current)
        for column, kind in [("num", "numeric"), ("cat", "categorical")]:
            if kind not in FORCED[method]:
                continue
            expected = drift(reference[column], current[column], kind, method=method)
            _check(rows[column], expected, f"{method}: {name}/{column}")
            checked += 1
    assert checked >= 12


def test_threshold_override_changes_the_verdict(compiled) -> None:
    name, reference, current = CASES[2]  # 150 x 37, shifted by 0.8: a clear KS drift
    default = _run(compiled["auto"], reference, current)["num"]
    loose = _run(compiled["threshold"], reference, current)["num"]
    assert default["method"] == loose["method"] == "ks"
    assert loose["threshold"] == 0.5
    assert loose["score"] == pytest.approx(default["score"], abs=1e-12)
    expected = drift(reference["num"], current["num"], "numeric", threshold=0.5)
    assert loose["is_drifted"] == expected["drifted"]


def test_unseen_category_gives_chi_squared_p_value_zero(compiled) -> None:
    reference = {"num": [1.0] * 60, "cat": ["a", "b", "c"] * 20}
    current = {"num": [1.0] * 31, "cat": ["a", "b", "c"] * 10 + ["d"]}
    row = _run(compiled["auto"], reference, current)["cat"]
    assert row["method"] == "chisquare"
    assert row["score"] == 0.0 and row["is_drifted"]


def _large_current_cases() -> list[tuple[str, list[float], list[float], str]]:
    """A reference of at most 1000 values against a current of more than 10000: each case
    lands in one branch of the one-sample distribution of N = round(m n / (m + n))."""
    rng = np.random.default_rng(5)
    grid = np.arange(1000, dtype=float)
    one_above = grid.copy()
    one_above[0] = 1000.5
    mostly_above = np.concatenate([[-1.0], rng.normal(100, 1, 199)])
    return [
        ("pelz-good", rng.normal(0, 1, 300), rng.normal(0.0, 1, 12000), "asymptotic"),
        ("pelz-good, larger N", rng.normal(0, 1, 1000), rng.normal(0.02, 1, 30000), "asymptotic"),
        ("smirnov tail", rng.normal(0, 1, 300), rng.normal(0.15, 1, 12000), "asymptotic"),
        ("smirnov, N <= 140", rng.normal(0, 1, 100), rng.normal(0.6, 1, 12000), "asymptotic"),
        ("smirnov, D >= 0.5", rng.normal(0, 1, 50), rng.normal(3, 1, 11000), "asymptotic"),
        ("ruben-gambino, D near 1", mostly_above, rng.normal(0, 1, 11000), "asymptotic"),
        ("ruben-gambino, D near 1/N", one_above, np.repeat(grid, 12), "asymptotic"),
        ("identical shares", grid, np.repeat(grid, 12), "asymptotic"),
        ("durbin matrix region, N <= 140", rng.normal(0, 1, 100), rng.normal(0, 1, 12000), None),
    ]


LARGE_CURRENT = _large_current_cases()


@pytest.mark.parametrize("case", LARGE_CURRENT, ids=[case[0] for case in LARGE_CURRENT])
def test_large_current_ks_p_value_matches_scipy(compiled, case) -> None:
    """Above 10000 values on a side, scipy's asymptotic p-value (the distribution of the
    one-sample statistic) within 1e-9, branch by branch. In the Durbin-matrix and Pomeranz
    regions the Kolmogorov limit stands in and says so in `p_value_method`; there it is off by
    up to a few hundredths (0.027 on this case), so only the verdict at 0.05 and a 5e-2 bound
    are required."""
    from scipy import stats

    name, reference, current, expected_method = case
    reference = {"num": list(map(float, reference)), "cat": ["a"] * len(reference)}
    current = {"num": list(map(float, current)), "cat": ["a"] * len(current)}
    row = _run(compiled["ks"], reference, current)["num"]
    expected = stats.ks_2samp(reference["num"], current["num"])
    assert row["statistic"] == pytest.approx(expected.statistic, abs=1e-12)
    if expected_method is None:
        assert row["p_value_method"] == "kolmogorov limit", row
        assert row["p_value"] == pytest.approx(expected.pvalue, abs=5e-2)
        assert (row["p_value"] <= 0.05) == (expected.pvalue <= 0.05)
    else:
        assert row["p_value_method"] == expected_method, row
        assert _close(row["p_value"], expected.pvalue), (name, row["p_value"], expected.pvalue)


def test_erfc_matches_scipy(compiled) -> None:
    """The complementary error function behind the chi-squared and Z-test p-values."""
    from scipy.special import erfc

    grid = np.concatenate([np.linspace(0, 12, 4801), [3.999999999, 4.0, 4.000000001, 26.0]])
    connection = duckdb.connect()
    connection.register("grid_arrow", pa.table({"x": grid}))
    connection.execute("create table grid as select * from grid_arrow")
    rows = connection.sql(compiled["erfc"]).fetchall()
    connection.close()
    worst = max(abs(value - erfc(x)) for x, value in rows)
    assert len(rows) == len(grid) and worst < 1e-10


def test_unknown_method_is_a_compile_error(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="compile"):
        compile_macro_calls(
            {
                "bad": "{{ trainset.feature_drift('r', 'c', [{'name': 'x', 'kind': 'numeric', "
                "'method': 'energy'}]) }}"
            },
            tmp_path,
            macro_folders=("monitoring",),
        )
