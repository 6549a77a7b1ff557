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
    built = run(project, ["build"], env)["results"]
    return project, env, built


def test_every_case_behaves_as_declared_on_duckdb(duckdb_project):
    project, _, results = duckdb_project
    statuses = {r["unique_id"]: r["status"] for r in results}
    assert [key for key, status in statuses.items() if status not in {"pass", "success"}] == []
    cases = cases_by_test(project)
    assert sorted(cases) == TEST_NAMES
    for name, tags in cases.items():
        assert tags["expect_pass"] >= 1 and tags["expect_fail"] >= 1, (name, tags)


def test_expected_failures_really_fail_when_not_inverted(duckdb_project):
    project, env, _ = duckdb_project
    results = run(
        project,
        ["test", "--select", "tag:expect_fail", "--vars", "{invert_expected_failures: false}"],
        env,
    )["results"]
    assert len(results) == sum(tags["expect_fail"] for tags in cases_by_test(project).values())
    assert {r["status"] for r in results} == {"fail"}


@pytest.mark.postgres
def test_every_case_behaves_as_declared_on_postgres(tmp_path):
    for server in start_postgres():
        project = copy_project(tmp_path)
        env = {"EXPECTATIONS_PG_PORT": str(server.port), "DBT_SEND_ANONYMOUS_USAGE_STATS": "False"}
        run(project, ["deps"], env)
        results = run(project, ["build", "--target", "postgres"], env)["results"]
        failed = {
            r["unique_id"]: (r["status"], r["message"])
            for r in results
            if r["status"] not in {"pass", "success"}
        }
        assert failed == {}
        assert len([r for r in results if r["unique_id"].startswith("test.")]) == sum(
            sum(tags.values()) for tags in cases_by_test(project).values()
        )
        plain = run(
            project,
            [
                "test",
                "--target",
                "postgres",
                "--select",
                "tag:expect_fail",
                "--vars",
                "{invert_expected_failures: false}",
            ],
            env,
        )["results"]
        assert len(plain) == sum(tags["expect_fail"] for tags in cases_by_test(project).values())
        assert {r["status"] for r in plain} == {"fail"}


BAD_IGNORE_ROW_IF = """
version: 2
models:
  - name: numbers_regrouped
    data_tests:
      - dbt_expectations.expect_compound_columns_to_be_unique:
          arguments: {column_list: [id], ignore_row_if: any_value_is_null}
"""
NEEDS_TIME_ZONE = """
version: 2
models:
  - name: numbers_copy
    data_tests:
      - dbt_expectations.expect_row_values_to_have_recent_data:
          arguments: {column_name: event_at, datepart: day, interval: 1}
          config: {tags: [needs_time_zone]}
"""


def dbt_error(project: Path, args: list[str], env: dict[str, str]) -> str:
    """Run dbt where it must stop with an error; return the error's text."""
    from dbt.cli.main import dbtRunner

    os.environ.update(env)
    try:
        result = dbtRunner().invoke(
            [*args, "--project-dir", str(project), "--profiles-dir", str(project)]
        )
    finally:
        for key in env:
            os.environ.pop(key, None)
    assert not result.success
    return str(result.exception)


def test_bad_arguments_and_a_missing_time_zone_var_are_errors(tmp_path):
    """Like the original package: an unknown ignore_row_if stops dbt while it parses the
    project, and a test that reads the current time without var('dbt_date:time_zone') stops it
    when compiled; both say what to fix."""
    project = copy_project(tmp_path)
    env = {
        "EXPECTATIONS_DUCKDB_PATH": str(project / "it.duckdb"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
    }
    run(project, ["deps"], env)
    cases = project / "models" / "_error_cases.yml"
    cases.write_text(BAD_IGNORE_ROW_IF)
    message = dbt_error(project, ["parse"], env)
    assert "ignore_row_if must be one of all_values_are_missing, any_value_is_missing" in message
    assert "'any_value_is_null'" in message

    cases.write_text(NEEDS_TIME_ZONE)
    config = project / "dbt_project.yml"
    without_var = config.read_text().replace('  "dbt_date:time_zone": UTC\n', "")
    assert without_var != config.read_text()
    config.write_text(without_var)
    message = dbt_error(project, ["compile", "--select", "tag:needs_time_zone"], env)
    assert "'dbt_date:time_zone' is not set" in message
    assert "dbt_project.yml" in message


# The argument lists of metaplane/dbt-expectations 0.10 for every test this package implements,
# in the original's order (written down from its macro signatures).
ORIGINAL_SIGNATURES = {
    "expect_column_distinct_count_to_be_greater_than": (
        "model column_name value group_by row_condition"
    ),
    "expect_column_distinct_count_to_be_less_than": (
        "model column_name value group_by row_condition"
    ),
    "expect_column_distinct_count_to_equal": "model column_name value group_by row_condition",
    "expect_column_distinct_values_to_be_in_set": (
        "model column_name value_set quote_values row_condition"
    ),
    "expect_column_distinct_values_to_contain_set": (
        "model column_name value_set quote_values row_condition"
    ),
    "expect_column_distinct_values_to_equal_set": (
        "model column_name value_set quote_values row_condition"
    ),
    "expect_column_max_to_be_between": (
        "model column_name min_value max_value group_by row_condition strictly"
    ),
    "expect_column_mean_to_be_between": (
        "model column_name min_value max_value group_by row_condition strictly"
    ),
    "expect_column_median_to_be_between": (
        "model column_name min_value max_value group_by row_condition strictly"
    ),
    "expect_column_min_to_be_between": (
        "model column_name min_value max_value group_by row_condition strictly"
    ),
    "expect_column_most_common_value_to_be_in_set": (
        "model column_name value_set top_n quote_values data_type row_condition"
    ),
    "expect_column_pair_values_A_to_be_greater_than_B": (
        "model column_A column_B or_equal row_condition"
    ),
    "expect_column_pair_values_to_be_equal": "model column_A column_B row_condition",
    "expect_column_proportion_of_unique_values_to_be_between": (
        "model column_name min_value max_value group_by row_condition strictly"
    ),
    "expect_column_quantile_values_to_be_between": (
        "model column_name quantile min_value max_value group_by row_condition strictly"
    ),
    "expect_column_stdev_to_be_between": (
        "model column_name min_value max_value group_by row_condition strictly"
    ),
    "expect_column_sum_to_be_between": (
        "model column_name min_value max_value group_by row_condition strictly"
    ),
    "expect_column_to_exist": "model column_name column_index transform",
    "expect_column_unique_value_count_to_be_between": (
        "model column_name min_value max_value group_by row_condition strictly"
    ),
    "expect_column_values_to_be_between": (
        "model column_name min_value max_value row_condition strictly"
    ),
    "expect_column_values_to_be_decreasing": (
        "model column_name sort_column strictly row_condition group_by step"
    ),
    "expect_column_values_to_be_in_set": "model column_name value_set quote_values row_condition",
    "expect_column_values_to_be_in_type_list": "model column_name column_type_list",
    "expect_column_values_to_be_increasing": (
        "model column_name sort_column strictly row_condition group_by step"
    ),
    "expect_column_values_to_be_of_type": "model column_name column_type",
    "expect_column_values_to_be_unique": "model column_name row_condition",
    "expect_column_values_to_be_within_n_moving_stdevs": (
        "model column_name date_column_name group_by period lookback_periods "
        "trend_periods test_periods sigma_threshold sigma_threshold_upper "
        "sigma_threshold_lower take_diffs take_logs"
    ),
    "expect_column_values_to_be_within_n_stdevs": "model column_name group_by sigma_threshold",
    "expect_column_values_to_match_regex": "model column_name regex row_condition is_raw flags",
    "expect_column_values_to_not_be_in_set": (
        "model column_name value_set quote_values row_condition"
    ),
    "expect_column_values_to_not_be_null": "model column_name row_condition",
    "expect_compound_columns_to_be_unique": (
        "model column_list quote_columns ignore_row_if row_condition"
    ),
    "expect_grouped_row_values_to_have_recent_data": (
        "model group_by timestamp_column datepart interval row_condition"
    ),
    "expect_multicolumn_sum_to_equal": "model column_list sum_total group_by row_condition",
    "expect_row_values_to_have_data_for_every_n_datepart": (
        "model date_col date_part interval row_condition exclusion_condition "
        "test_start_date test_end_date"
    ),
    "expect_row_values_to_have_recent_data": "model column_name datepart interval row_condition",
    "expect_table_aggregation_to_equal_other_table": (
        "model expression compare_model compare_expression group_by compare_group_by "
        "row_condition compare_row_condition tolerance tolerance_percent"
    ),
    "expect_table_column_count_to_equal": "model value",
    "expect_table_columns_to_contain_set": "model column_list transform",
    "expect_table_columns_to_match_ordered_list": "model column_list transform",
    "expect_table_columns_to_match_set": "model column_list transform",
    "expect_table_row_count_to_be_between": (
        "model min_value max_value group_by row_condition strictly"
    ),
    "expect_table_row_count_to_equal_other_table": (
        "model compare_model group_by compare_group_by factor row_condition compare_row_condition"
    ),
    "expression_is_true": "model expression test_condition group_by_columns row_condition",
}


def test_every_test_takes_the_original_arguments_in_the_original_order():
    """A project written for the original package parses here and passes the same arguments:
    each test has exactly the original's argument names, in the same order."""
    source = "".join(p.read_text() for p in (PACKAGE / "macros").rglob("*.sql"))
    declared = {
        name: [argument.split("=")[0].strip() for argument in signature.split(",")]
        for name, signature in re.findall(r"\{%\s*test\s+(\w+)\((.*?)\)\s*%\}", source, re.S)
    }
    assert sorted(declared) == sorted(ORIGINAL_SIGNATURES)
    for name, arguments in ORIGINAL_SIGNATURES.items():
        assert declared[name] == arguments.split(), name


def test_no_test_name_outside_the_original_package():
    """Only names the original package defines, so swapping it in never breaks a YAML file."""
    invented = {"expect_column_distinct_count_to_be_between"}
    assert not invented & set(TEST_NAMES)
    uses = set()
    for path in (PROJECT_DIR / "models").rglob("*.yml"):
        uses |= set(re.findall(r"dbt_expectations\.(\w+)", path.read_text()))
    assert uses <= set(TEST_NAMES), uses - set(TEST_NAMES)
