"""The project's environment is installed byte-compiled (`make venv`, see the Makefile).

Python keeps the bytecode it compiles on import only where it may write it; with
PYTHONDONTWRITEBYTECODE=1 every process, each dbt run among them, would compile dbt and its
libraries again (importing them took 7.3 s uncompiled against 2.3 s)."""

from __future__ import annotations

import importlib
import importlib.util
from pathlib import Path

import pytest

# What every dbt process and the trainset command import first.
MODULES = ("dbt.cli.main", "dbt.adapters.duckdb", "dbt_common", "jinja2", "agate", "pandas")


@pytest.mark.parametrize("name", MODULES)
def test_the_installed_modules_are_byte_compiled(name):
    module = importlib.import_module(name)
    source = Path(module.__file__)
    cached = Path(importlib.util.cache_from_source(str(source)))
    assert cached.is_file(), f"{name} is not byte-compiled ({cached} is missing): run `make venv`"
