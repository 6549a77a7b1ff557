"""Shared fixtures: a small landing zone and a full `dbt build` in a DuckDB file of its own."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from trainset.dbt import run_dbt
from trainset.generate import generate
from trainset.project import Paths, find_project_dir

PROJECT_DIR = find_project_dir(Path(__file__).parent)
SMALL = {"customers": 300, "days": 300, "seed": 11}

os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "False")


@dataclass
class Built:
    """A landing zone, its build and what the generator injected."""

    paths: Paths
    summary: dict
    success: bool


def make_paths(root: Path) -> Paths:
    return Paths(
        project_dir=PROJECT_DIR,
        duckdb_path=root / "trainset.duckdb",
        landing_dir=root / "landing",
        exports_dir=root / "exports",
        target_dir=root / "target",
    )


def build(paths: Paths, *extra: str) -> bool:
    return run_dbt(["build", "--log-path", str(paths.target_dir / "logs"), *extra], paths).success


@pytest.fixture(scope="session")
def small_landing(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """One generated landing zone (faults on), copied by tests that change it."""
    root = tmp_path_factory.mktemp("landing")
    summary = generate(root / "landing", progress=lambda message: None, **SMALL)
    return root / "landing", summary


@pytest.fixture(scope="session")
def built(small_landing: tuple[Path, dict], tmp_path_factory: pytest.TempPathFactory) -> Built:
    """A full `dbt build` of the small landing zone. Read-only for tests: copy to change."""
    landing, summary = small_landing
    root = tmp_path_factory.mktemp("built")
    paths = make_paths(root)
    shutil.copytree(landing, paths.landing_dir)
    return Built(paths=paths, summary=summary, success=build(paths))


@pytest.fixture
def fresh_copy(small_landing: tuple[Path, dict], tmp_path: Path) -> Built:
    """A private copy of the small landing zone, not yet built."""
    landing, summary = small_landing
    paths = make_paths(tmp_path)
    shutil.copytree(landing, paths.landing_dir)
    return Built(paths=paths, summary=summary, success=False)
