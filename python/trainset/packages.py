"""Keep the installed dbt packages in step with `packages.yml`.

`dbt deps` installs what `packages.yml` names into `dbt_packages/` and pins it in
`package-lock.yml`. After it runs, a fingerprint (SHA-256 of both files) is stored in
`dbt_packages/.packages.sha256`. `ensure_packages` runs `dbt deps` again whenever that
fingerprint no longer matches or a package named in the lock file is missing, so swapping the
local dbt_expectations for the published one is a one-line change to `packages.yml`.

`python -m trainset.packages` does the same from the command line.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import yaml

from .dbt import DbtError
from .project import Paths

DECLARATION_FILES = ("packages.yml", "package-lock.yml")
STAMP = Path("dbt_packages") / ".packages.sha256"


def packages_fingerprint(project_dir: Path) -> str:
    """SHA-256 over the package declaration and lock files (an absent file counts as empty)."""
    digest = hashlib.sha256()
    for name in DECLARATION_FILES:
        path = project_dir / name
        digest.update(name.encode() + b"\0")
        digest.update(path.read_bytes() if path.exists() else b"")
        digest.update(b"\0")
    return digest.hexdigest()


def locked_package_names(project_dir: Path) -> list[str]:
    """The package names `package-lock.yml` pins (empty when there is no lock file)."""
    lock = project_dir / "package-lock.yml"
    if not lock.exists():
        return []
    entries = (yaml.safe_load(lock.read_text()) or {}).get("packages") or []
    return [entry["name"] for entry in entries if isinstance(entry, dict) and entry.get("name")]


def packages_current(project_dir: Path) -> bool:
    """True when the last `dbt deps` ran on the current declaration and its packages exist."""
    stamp = project_dir / STAMP
    if not stamp.exists() or stamp.read_text().strip() != packages_fingerprint(project_dir):
        return False
    installed = project_dir / "dbt_packages"
    return all((installed / name).exists() for name in locked_package_names(project_dir))


def ensure_packages(paths: Paths | None = None) -> bool:
    """Run `dbt deps` unless the installed packages match `packages.yml` and its lock file.

    Returns True when `dbt deps` ran. Raises DbtError when it fails (for example, a package
    index that cannot be reached): the build would otherwise run against stale packages.
    """
    paths = paths or Paths.resolve()
    project_dir = paths.project_dir
    if packages_current(project_dir):
        return False
    problem = _run_deps(paths)
    if problem is not None:
        raise DbtError(
            f"dbt deps failed for {project_dir / 'packages.yml'}: {problem}. Check the packages "
            "it names (and network access for packages from dbt Hub), then run the build again."
        )
    stamp = project_dir / STAMP
    stamp.parent.mkdir(parents=True, exist_ok=True)
    stamp.write_text(packages_fingerprint(project_dir) + "\n")
    return True


def _run_deps(paths: Paths) -> str | None:
    """`dbt deps` in the project (it takes no target path); the failure, or None."""
    from .dbt import DbtError, run_dbt

    try:
        run = run_dbt(["deps", "--log-path", str(paths.target_dir / "logs")], paths)
    except DbtError as error:
        return str(error).strip().splitlines()[0]
    return None if run.success else "dbt reported a failure"


def main() -> int:
    ran = ensure_packages()
    print("dbt packages installed" if ran else "dbt packages up to date", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
