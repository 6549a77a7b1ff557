"""Fault injection: disjoint rows per fault kind, and the count of what was injected."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class Faults:
    """Picks disjoint rows for faults and counts what it injected."""

    rng: np.random.Generator
    rate: float
    enabled: bool
    counts: dict[str, dict[str, int]] = field(default_factory=dict)

    def pick(
        self, table: str, rows: int, names: list[str], weights: dict[str, float] | None = None
    ) -> dict[str, np.ndarray]:
        picked: dict[str, np.ndarray] = {}
        if not self.enabled or rows == 0:
            return {name: np.array([], dtype=np.int64) for name in names}
        order = self.rng.permutation(rows)
        position = 0
        for name in names:
            share = self.rate * (weights or {}).get(name, 1.0)
            count = int(self.rng.binomial(rows, min(share, 1.0)))
            count = min(count, rows - position)
            picked[name] = np.sort(order[position : position + count])
            position += count
            self.add(table, name, count)
        return picked

    def add(self, table: str, name: str, count: int) -> None:
        if count:
            table_counts = self.counts.setdefault(table, {})
            table_counts[name] = table_counts.get(name, 0) + int(count)
