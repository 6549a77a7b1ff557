"""The installed dbt packages follow packages.yml: changing its one line is enough to swap the
local dbt_expectations for another, and the build notices by itself."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from conftest import PROJECT_DIR, make_paths
from trainset.dbt import DbtError
from trainset.packages import STAMP, ensure_packages, packages_fingerprint
from trainset.pipeline import build

pytestmark = pytest.mark.integration
LOCAL_LINE = "  - local: local_packages/dbt_expectations\n"


def copy_project(tmp_path: Path) -> Path:
    project = tmp_path / "project"
    shutil.copytree(
        PROJECT_DIR,
        project,
        ignore=shutil.ignore_patterns(
            ".venv", "data", "exports", "target", "logs", ".git", "dbt_packages", "*.duckdb"
        ),
    )
    return project


def installed(project: Path) -> Path:
    return (project / "dbt_packages" / "dbt_expectations").resolve()


def test_a_changed_packages_yml_reinstalls_on_the_next_build(small_landing, tmp_path):
    project = copy_project(tmp_path)
    paths = replace(make_paths(tmp_path), project_dir=project)
    shutil.copytree(small_landing[0], paths.landing_dir)

    assert ensure_packages(paths) is True
    assert installed(project) == (project / "local_packages" / "dbt_expectations").resolve()
    assert (project / STAMP).read_text().strip() == packages_fingerprint(project)
    assert ensure_packages(paths) is False  # nothing changed: no second `dbt deps`

    # Swap in another copy of the package by changing the one line of packages.yml.
    replacement = project / "vendor" / "dbt_expectations_next"
    shutil.copytree(project / "local_packages" / "dbt_expectations", replacement)
    declaration = project / "packages.yml"
    text = declaration.read_text()
    assert text.count(LOCAL_LINE) == 1
    declaration.write_text(text.replace(LOCAL_LINE, "  - local: vendor/dbt_expectations_next\n"))

    run = build(
        paths,
        ["countries"],
        extra_args=["--indirect-selection", "cautious"],
        progress=lambda message: None,
    )
    assert run.success
    assert installed(project) == replacement.resolve()
    lock = yaml.safe_load((project / "package-lock.yml").read_text())
    assert [entry["local"] for entry in lock["packages"]] == ["vendor/dbt_expectations_next"]
    assert (project / STAMP).read_text().strip() == packages_fingerprint(project)


def test_a_package_that_cannot_be_installed_stops_the_build(tmp_path):
    project = copy_project(tmp_path)
    declaration = project / "packages.yml"
    declaration.write_text(
        declaration.read_text().replace(LOCAL_LINE, "  - local: vendor/not_there\n")
    )
    paths = replace(make_paths(tmp_path), project_dir=project)
    with pytest.raises(DbtError, match="packages.yml"):
        ensure_packages(paths)
    assert not (project / STAMP).exists()
