"""Shared fixtures: a small landing zone and a full `dbt build` in a DuckDB file of its own."""

from __future__ import annotations

import atexit
import functools
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from trainset.project import Paths, find_project_dir
from trainset.sim import generate

PROJECT_DIR = find_project_dir(Path(__file__).parent)
SMALL = {"customers": 300, "days": 300, "seed": 11}

os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "False")


@dataclass
class Built:
    """A landing zone, its build and what the generator injected."""

    paths: Paths
    summary: dict
    success: bool


@functools.cache
def project_snapshot() -> Path:
    """The dbt project as it was when the session started, copied once: builds and exports in
    tests see one version of the code while the working tree is edited (an export refuses code
    that changed since its build). The Python package is imported from the working tree."""
    root = Path(tempfile.mkdtemp(prefix="trainset-project-"))
    atexit.register(shutil.rmtree, root, ignore_errors=True)
    snapshot = root / "project"
    shutil.copytree(
        PROJECT_DIR,
        snapshot,
        ignore=shutil.ignore_patterns(
            ".venv",
            ".git",
            "data",
            "exports",
            "target",
            "target.*",
            "logs",
            "dbt_packages",
            "python",
            "*.duckdb",
        ),
    )
    (snapshot / "dbt_packages").mkdir()
    (snapshot / "dbt_packages" / "dbt_expectations").symlink_to(
        snapshot / "local_packages" / "dbt_expectations"
    )
    return snapshot


def make_paths(root: Path) -> Paths:
    return Paths(
        project_dir=project_snapshot(),
        duckdb_path=root / "trainset.duckdb",
        landing_dir=root / "landing",
        exports_dir=root / "exports",
        target_dir=root / "target",
    )


def build(paths: Paths, *extra: str) -> bool:
    """`trainset build` (landing check, build record, dbt build) with dbt's logs in the target."""
    from trainset.pipeline import build as build_pipeline

    extra_args = ["--log-path", str(paths.target_dir / "logs"), *extra]
    return build_pipeline(paths, extra_args=extra_args, progress=lambda message: None).success


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
