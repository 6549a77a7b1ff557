"""Compiling macro calls outside the project: no side effects on this process, output read
from the throwaway project's own target folder whatever DBT_TARGET_PATH says."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from trainset.compile import compile_macro_calls
from trainset.project import ProjectNotFoundError, find_project_dir


def test_compiles_where_dbt_target_path_points_elsewhere(tmp_path: Path, monkeypatch) -> None:
    elsewhere = tmp_path / "elsewhere"
    monkeypatch.setenv("DBT_TARGET_PATH", str(elsewhere))
    monkeypatch.delenv("DBT_SEND_ANONYMOUS_USAGE_STATS", raising=False)
    before = dict(os.environ)
    compiled = compile_macro_calls(
        {"gap": "select {{ trainset.seconds_between('started_at', 'ended_at') }} as seconds"},
        tmp_path / "work",
        macro_folders=("utils",),
    )
    assert "extract(epoch from ended_at - started_at)" in compiled["gap"]
    assert dict(os.environ) == before
    assert not elsewhere.exists()
    # Compiling reads no table, so no database file is made (or left open).
    assert list((tmp_path / "work").rglob("*.duckdb")) == []


def test_a_macro_folder_the_project_lacks_is_named(tmp_path: Path) -> None:
    with pytest.raises(ProjectNotFoundError, match="no folder nosuchtopic"):
        compile_macro_calls(
            {"x": "select 1"},
            tmp_path,
            macro_folders=("utils", "nosuchtopic"),
            project_dir=find_project_dir(),
        )


def test_expand_environment_puts_in_each_variable_or_its_default(tmp_path: Path, monkeypatch):
    """The macro that names the landing folder when dbt executes (macros/utils/
    landing_folder.sql): `${NAME}` and `${NAME:-default}` take the variable's value, the default
    only when it is not set, and text without a reference is left as written."""
    monkeypatch.setenv("TRAINSET_TEST_FOLDER", "/data/landing zone")
    monkeypatch.setenv("TRAINSET_TEST_EMPTY", "")
    monkeypatch.delenv("TRAINSET_TEST_UNSET", raising=False)
    calls = {
        "set": "${TRAINSET_TEST_FOLDER}/orders/*.parquet",
        "set_with_default": "${TRAINSET_TEST_FOLDER:-data/landing}/orders",
        "unset_with_default": "${TRAINSET_TEST_UNSET:-data/landing}/orders",
        "empty": "[${TRAINSET_TEST_EMPTY:-fallback}]",
        "twice": "${TRAINSET_TEST_FOLDER}|${TRAINSET_TEST_UNSET:-b}|${TRAINSET_TEST_FOLDER}",
        "plain": "read_parquet('/x/$HOME/{name}/*.parquet')",
    }
    compiled = compile_macro_calls(
        {name: f"{{{{ trainset.expand_environment({text!r}) }}}}" for name, text in calls.items()},
        tmp_path / "work",
        macro_folders=("utils",),
    )
    assert {name: sql.strip() for name, sql in compiled.items()} == {
        "set": "/data/landing zone/orders/*.parquet",
        "set_with_default": "/data/landing zone/orders",
        "unset_with_default": "data/landing/orders",
        "empty": "[]",
        "twice": "/data/landing zone|b|/data/landing zone",
        "plain": "read_parquet('/x/$HOME/{name}/*.parquet')",
    }
