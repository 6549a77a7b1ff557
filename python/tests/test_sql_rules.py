"""Rules on the project's own SQL that no linter enforces."""

from __future__ import annotations

import re

from trainset.project import find_project_dir

EMPTY_WINDOW = re.compile(r"\bover\s*\(\s*\)", re.IGNORECASE)


def test_no_window_has_an_empty_specification() -> None:
    """DuckDB 1.5.5 now and then fails a query holding `over ()` with an internal error that
    invalidates the whole database (mon_training_drift says how often); a frame over every row
    in order gives the same numbers without it."""
    project = find_project_dir()
    files = [
        path
        for folder in ("models", "macros", "tests", "snapshots", "local_packages")
        for path in (project / folder).rglob("*.sql")
    ] + list((project / "python" / "trainset").rglob("*.py"))
    assert len(files) > 100, files
    offenders = [
        f"{path.relative_to(project)}:{text[: match.start()].count(chr(10)) + 1}"
        for path in files
        for text in [path.read_text(encoding="utf-8")]
        for match in EMPTY_WINDOW.finditer(text)
    ]
    assert offenders == [], f"`over ()` found; use a named window over every row: {offenders}"
