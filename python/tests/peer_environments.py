"""The peers the tests compare trainset with, each in a virtual environment of its own (both
need pandas < 3, the project runs pandas 3): Feast 0.67 and Evidently 0.7.23.

Each is made on first use and reused after. `.ci/run` makes both before the tests, beside the
project's own install (`python3 python/tests/peer_environments.py`): pip installs on one core,
so the two installs take the core it leaves idle instead of the tests' time. Standard library
only, so any Python 3.11 can run it before the project's environment exists.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[2]
FEAST_REQUIREMENTS = ["feast==0.67.*", "pandas<3"]
sys.path.insert(0, str(PROJECT_DIR / "python" / "benchmarks"))
import evidently_drift  # noqa: E402  (standard library only, like this module)


def feast_venv(cache: Path | None = None) -> Path:
    """Feast 0.67 in its own virtual environment, created once and reused: under
    TRAINSET_FEAST_VENV, else data/cache/feast-0.67 in the project (ignored by git)."""
    folder = Path(
        cache
        or os.environ.get("TRAINSET_FEAST_VENV")
        or PROJECT_DIR / "data" / "cache" / "feast-0.67"
    )
    python = folder / "bin" / "python"
    marker = folder / ".installed"
    if marker.is_file() and python.is_file():
        return folder
    if folder.exists():
        shutil.rmtree(folder)
    subprocess.run([sys.executable, "-m", "venv", str(folder)], check=True)
    subprocess.run(
        [
            str(folder / "bin" / "pip"),
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--no-compile",
            *FEAST_REQUIREMENTS,
        ],
        check=True,
    )
    evidently_drift.byte_compile(folder)
    marker.write_text(" ".join(FEAST_REQUIREMENTS) + "\n")
    return folder


def evidently_python() -> Path:
    """The Python of Evidently's environment (see python/benchmarks/evidently_drift.py)."""
    return evidently_drift.ensure_environment()


if __name__ == "__main__":
    print(f"peer environments: Feast in {feast_venv()}, Evidently in {evidently_python()}")
