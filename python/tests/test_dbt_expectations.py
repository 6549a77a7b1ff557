"""The local dbt_expectations package against its own integration project: every test has
cases that must pass and cases that must fail, on DuckDB and on PostgreSQL."""

from __future__ import annotations

import json
import os
import re
import shutil
from collections import Counter
from pathlib import Path

import pytest

from conftest import PROJECT_DIR
from pit_harness import start_postgres
from trainset.dbt import _release_duckdb

pytestmark = pytest.mark.integration
PACKAGE = PROJECT_DIR / "local_packages" / "dbt_expectations"
TEST_NAMES = sorted(
    set(
        re.findall(
            r"\{%\s*test\s+(\w+)\(",
            "".join(p.read_text() for p in (PACKAGE / "macros").rglob("*.sql")),
        )
    )
)


def run(project: Path, args: list[str], env: dict[str, str]) -> dict:
    from dbt.cli.main import dbtRunner

    previous = {key: os.environ.get(key) for key in env}
    os.environ.update(env)
    try:
        result = dbtRunner().invoke(
            [
                *args,
                "--project-dir",
                str(project),
                "--profiles-dir",
                str(project),
                "--log-path",
                str(project / "logs"),
            ]
        )
    finally:
        _release_duckdb()
        for key, value in previous.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    assert result.exception is None, result.exception
    if args[0] == "deps":
        return {}
    return json.loads((project / "target" / "run_results.json").read_text())


def copy_project(tmp_path: Path) -> Path:
    project = tmp_path / "integration_tests"
    shutil.copytree(
        PACKAGE / "integration_tests",
        project,
        ignore=shutil.ignore_patterns("target", "dbt_packages", "logs", "*.duckdb"),
    )
    (project / "packages.yml").write_text(f"packages:\n  - local: {PACKAGE}\n")
    return project


def cases_by_test(project: Path) -> dict[str, Counter]:
    manifest = json.loads((project / "target" / "manifest.json").read_text())
    found: dict[str, Counter] = {}
    for node in manifest["nodes"].values():
        if node["resource_type"] != "test":
            continue
        name = node["test_metadata"]["name"]
        for tag in node["tags"]:
            found.setdefault(name, Counter())[tag] += 1
    return found


@pytest.fixture(scope="module")
def duckdb_project(tmp_path_factory):
    project = copy_project(tmp_path_factory.mktemp("expectations"))
    env = {
        "EXPECTATIONS_DUCKDB_PATH": str(project / "it.duckdb"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
    }
    run(project, ["deps"], env)
    return project, env


def test_every_case_behaves_as_declared_on_duckdb(duckdb_project):
    project, env = duckdb_project
    results = run(project, ["build"], env)["results"]
    statuses = {r["unique_id"]: r["status"] for r in results}
    assert [key for key, status in statuses.items() if status not in {"pass", "success"}] == []
    cases = cases_by_test(project)
    assert sorted(cases) == TEST_NAMES
    for name, tags in cases.items():
        assert tags["expect_pass"] >= 1 and tags["expect_fail"] >= 1, (name, tags)


def test_expected_failures_really_fail_when_not_inverted(duckdb_project):
    project, env = duckdb_project
    results = run(
        project,
        ["test", "--select", "tag:expect_fail", "--vars", "{invert_expected_failures: false}"],
        env,
    )["results"]
    assert len(results) == sum(tags["expect_fail"] for tags in cases_by_test(project).values())
    assert {r["status"] for r in results} == {"fail"}


def test_nulls_pass_range_tests_but_fail_set_membership(duckdb_project):
    project, env = duckdb_project
    manifest = json.loads((project / "target" / "manifest.json").read_text())
    by_alias = {
        node["alias"]: node
        for node in manifest["nodes"].values()
        if node["resource_type"] == "test"
    }
    between = next(
        n
        for a, n in by_alias.items()
        if "between" in a and n["tags"] == ["expect_pass"] and n["column_name"] == "value"
    )
    in_set = next(n for a, n in by_alias.items() if "in_set" in a and n["column_name"] == "code")
    assert between["test_metadata"]["kwargs"].get("min_value") == 1  # the value column holds a null
    assert in_set["tags"] == ["expect_fail"]  # the code column's only violation is its null


@pytest.mark.postgres
def test_every_case_behaves_as_declared_on_postgres(tmp_path):
    for server in start_postgres():
        project = copy_project(tmp_path)
        env = {"EXPECTATIONS_PG_PORT": str(server.port), "DBT_SEND_ANONYMOUS_USAGE_STATS": "False"}
        run(project, ["deps"], env)
        results = run(project, ["build", "--target", "postgres", "--exclude", "recent_rows"], env)[
            "results"
        ]
        failed = {
            r["unique_id"]: r["status"] for r in results if r["status"] not in {"pass", "success"}
        }
        assert failed == {}
        assert len([r for r in results if r["unique_id"].startswith("test.")]) >= 40
