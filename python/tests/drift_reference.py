"""A plain-Python definition of the drift defaults, on scipy, to check the SQL against.

It follows the data-drift preset of common monitoring tools as read from their source: values
that are null, NaN or +-infinity are dropped per side; the method is chosen from the declared
kind, the reference size and the number of distinct values of both sides together; scores and
verdicts as in `macros/monitoring/feature_drift.sql`'s header. Nothing here reads the SQL.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy import stats
from scipy.spatial import distance

THRESHOLDS = {
    "ks": 0.05,
    "chisquare": 0.05,
    "z": 0.05,
    "wasserstein": 0.1,
    "jensenshannon": 0.1,
    "psi": 0.1,
}


def clean(values: list[Any], kind: str) -> list[Any]:
    kept = []
    for value in values:
        if value is None:
            continue
        if kind == "numeric":
            value = float(value)
            if math.isnan(value) or math.isinf(value):
                continue
        kept.append(value)
    return kept


def default_method(reference: list[Any], current: list[Any], kind: str) -> str:
    distinct = len(set(reference) | set(current))
    if len(reference) <= 1000:
        if kind == "numeric" and distinct > 5:
            return "ks"
        return "chisquare" if distinct > 2 else "z"
    if kind == "numeric" and distinct > 5:
        return "wasserstein"
    return "jensenshannon"


def _keys(reference: list[Any], current: list[Any]) -> list[Any]:
    return sorted(set(reference) | set(current))


def _shares(reference: list[Any], current: list[Any], kind: str) -> tuple[np.ndarray, np.ndarray]:
    """Value shares, or a Sturges histogram of both sides pooled for a numeric column with
    more than 20 distinct reference values."""
    if kind == "numeric" and len(set(reference)) > 20:
        edges = np.histogram_bin_edges(np.asarray(reference + current, dtype=float), bins="sturges")
        return (
            np.histogram(reference, edges)[0] / len(reference),
            np.histogram(current, edges)[0] / len(current),
        )
    keys = _keys(reference, current)
    return (
        np.array([reference.count(key) / len(reference) for key in keys]),
        np.array([current.count(key) / len(current) for key in keys]),
    )


def _fill_zeroes(shares: np.ndarray) -> np.ndarray:
    shares = shares.copy()
    smallest = shares[shares != 0].min()
    shares[shares == 0] = smallest / 10**6 if smallest <= 0.0001 else 0.0001
    return shares


def drift(
    reference: list[Any],
    current: list[Any],
    kind: str,
    method: str | None = None,
    threshold: float | None = None,
) -> dict[str, Any]:
    """method, statistic, p_value, score, threshold and drifted for one feature."""
    reference, current = clean(reference, kind), clean(current, kind)
    if not reference or not current:
        return {"method": "none", "score": None, "p_value": None, "drifted": False}
    method = method or default_method(reference, current, kind)
    threshold = THRESHOLDS[method] if threshold is None else threshold
    p_value = statistic = None
    if method == "ks":
        result = stats.ks_2samp(reference, current)
        statistic, p_value = float(result.statistic), float(result.pvalue)
        drifted = p_value <= threshold
    elif method == "chisquare":
        keys = _keys(reference, current)
        scale = len(current) / len(reference)
        expected = [reference.count(key) * scale for key in keys]
        observed = [current.count(key) for key in keys]
        with np.errstate(divide="ignore", invalid="ignore"):
            result = stats.chisquare(observed, expected)
        statistic, p_value = float(result.statistic), float(result.pvalue)
        drifted = p_value < threshold
    elif method == "z":
        keys = _keys(reference, current)
        if len(set(reference)) == 1 and len(set(current)) == 1 and reference[0] == current[0]:
            statistic, p_value = None, 1.0
        else:
            n1, n2 = len(reference), len(current)
            p1 = sum(0 if value == keys[0] else 1 for value in reference) / n1
            p2 = sum(0 if value == keys[0] else 1 for value in current) / n2
            pooled = (p1 * n1 + p2 * n2) / (n1 + n2)
            statistic = (p1 - p2) / math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
            p_value = float(2 * (1 - stats.norm.cdf(abs(statistic))))
        drifted = p_value < threshold
    elif method == "wasserstein":
        norm = max(float(np.std(reference)), 0.001)
        statistic = float(stats.wasserstein_distance(reference, current)) / norm
        drifted = statistic >= threshold
    elif method == "jensenshannon":
        reference_shares, current_shares = _shares(reference, current, kind)
        statistic = float(distance.jensenshannon(reference_shares, current_shares))
        drifted = statistic >= threshold
    elif method == "psi":
        reference_shares, current_shares = _shares(reference, current, kind)
        reference_shares, current_shares = (
            _fill_zeroes(reference_shares),
            _fill_zeroes(current_shares),
        )
        statistic = float(
            np.sum((reference_shares - current_shares) * np.log(reference_shares / current_shares))
        )
        drifted = statistic >= threshold
    else:
        raise ValueError(method)
    score = p_value if method in ("ks", "chisquare", "z") else statistic
    if score is not None and math.isnan(score):
        score, drifted = None, False
    return {
        "method": method,
        "statistic": statistic,
        "p_value": p_value,
        "score": score,
        "threshold": threshold,
        "drifted": bool(drifted),
    }
