"""The build record and the build lock: what ties an export to the build that checked its data.

A build holds an OS lock (`fcntl.flock`) on `<database>.build-lock` for its whole run, so a
second build on the same DuckDB file stops at once with one line naming the holder; an export
holds the same lock shared while it reads, so no build can start under it.

Each build writes a record beside the target folder (`<target>.builds/<build_id>.json`,
replaced atomically): at start `state: running`, `started_at`, the code hash; when it ends
`state: passed | failed | refused`, the dbt invocation id, the landing zone's files and
fingerprint, `finished_at` and the reasons of a failure. A record left `running` by a process
that no longer holds the lock belongs to a build that was killed.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import json
import os
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from .errors import BusyError
from .project import Paths

RUNNING, PASSED, FAILED, REFUSED = "running", "passed", "failed", "refused"
RECORDS_SUFFIX = ".builds"
LOCK_SUFFIX = ".build-lock"
KEEP_RECORDS = 50
# The project's code, as dbt reads it: these resource folders (named in dbt_project.yml), the
# project file and packages.yml, and the same for every local package.
RESOURCE_PATH_KEYS = ("model-paths", "macro-paths", "seed-paths", "snapshot-paths", "test-paths")
RESOURCE_PATH_DEFAULTS = {
    "model-paths": ["models"],
    "macro-paths": ["macros"],
    "seed-paths": ["seeds"],
    "snapshot-paths": ["snapshots"],
    "test-paths": ["tests"],
}
CODE_SUFFIXES = {".sql", ".yml", ".yaml", ".csv", ".md", ".py"}
SKIPPED_FOLDERS = {"target", "logs", "dbt_packages", "__pycache__"}


class BuildLockedError(BusyError):
    """Raised when another process holds the build lock of the database."""


@dataclass
class BuildRecord:
    """One build, as written beside the target folder."""

    build_id: str
    state: str
    started_at: str
    pid: int
    host: str
    database: str
    target_dir: str
    landing_dir: str
    select: list[str] | None
    code_hash: str
    finished_at: str | None = None
    dbt_invocation_id: str | None = None
    landing: dict[str, Any] | None = None
    reasons: list[str] = field(default_factory=list)
    # What the build recomputed (full, new, since, backfill: see trainset.incremental) and the
    # newest `_loaded_at` of the landing files it read: the next plain build starts there.
    mode: str | None = None
    watermark: str | None = None

    @property
    def landing_fingerprint(self) -> str | None:
        return (self.landing or {}).get("fingerprint")

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _now() -> datetime:
    return datetime.now(UTC)


def records_dir(target_dir: Path) -> Path:
    """Where the build records of a target folder live: beside it, so `dbt clean` keeps them."""
    target_dir = Path(target_dir)
    return target_dir.with_name(target_dir.name + RECORDS_SUFFIX)


def verified_landing_cache(target_dir: Path) -> Path:
    """The SHA-256 hashes of landing files whose pages passed verification in an earlier build."""
    return records_dir(target_dir) / "verified_landing.json"


def lock_path(database: Path) -> Path:
    database = Path(database)
    return database.with_name(database.name + LOCK_SUFFIX)


# --- the project's code hash -------------------------------------------------------------


def _code_files(project_dir: Path) -> list[Path]:
    project_file = project_dir / "dbt_project.yml"
    config = yaml.safe_load(project_file.read_text(encoding="utf-8")) or {}
    files = [project_file]
    if (project_dir / "packages.yml").is_file():
        files.append(project_dir / "packages.yml")
    for key in RESOURCE_PATH_KEYS:
        for folder in config.get(key, RESOURCE_PATH_DEFAULTS[key]):
            for dirpath, dirnames, filenames in os.walk(project_dir / folder):
                dirnames[:] = sorted(
                    name
                    for name in dirnames
                    if name not in SKIPPED_FOLDERS and not name.startswith(".")
                )
                files.extend(
                    Path(dirpath) / name
                    for name in filenames
                    if Path(name).suffix in CODE_SUFFIXES and not name.startswith(".")
                )
    packages = project_dir / "packages.yml"
    if packages.is_file():
        for package in (yaml.safe_load(packages.read_text(encoding="utf-8")) or {}).get(
            "packages", []
        ) or []:
            local = package.get("local") if isinstance(package, dict) else None
            if local and (project_dir / local / "dbt_project.yml").is_file():
                files.extend(_code_files((project_dir / local).resolve()))
    return files


def code_hash(project_dir: Path) -> str:
    """SHA-256 over the path (relative to the project) and content of every file dbt reads as
    code: models, macros, seeds, snapshots, tests, dbt_project.yml, packages.yml and the same
    for every local package."""
    project_dir = Path(project_dir).resolve()
    digest = hashlib.sha256()
    entries = []
    for path in _code_files(project_dir):
        resolved = path.resolve()
        try:
            name = resolved.relative_to(project_dir).as_posix()
        except ValueError:
            name = resolved.as_posix()
        entries.append((name, resolved))
    for name, path in sorted(set(entries)):
        digest.update(name.encode("utf-8") + b"\x00")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


# --- records ------------------------------------------------------------------------------


def write_record(target_dir: Path, record: BuildRecord) -> Path:
    """Write (or replace) a record atomically: a reader sees the old one or the new one whole."""
    folder = records_dir(target_dir)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{record.build_id}.json"
    temporary = folder / f".tmp-{record.build_id}-{uuid.uuid4().hex[:8]}"
    with temporary.open("w", encoding="utf-8") as handle:
        json.dump(record.to_json(), handle, indent=2, sort_keys=True)
        handle.write("\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)
    return path


def read_records(target_dir: Path) -> list[BuildRecord]:
    """Every record of a target folder, oldest first (build ids sort by start time)."""
    folder = records_dir(target_dir)
    if not folder.is_dir():
        return []
    records = []
    for path in sorted(folder.glob("*.json")):
        if path.name.startswith(".") or path == verified_landing_cache(target_dir):
            continue
        records.append(BuildRecord(**json.loads(path.read_text(encoding="utf-8"))))
    return records


def latest_record(target_dir: Path) -> BuildRecord | None:
    records = read_records(target_dir)
    return records[-1] if records else None


def _prune(target_dir: Path) -> None:
    folder = records_dir(target_dir)
    for path in sorted(folder.glob("*-*.json"))[:-KEEP_RECORDS]:
        path.unlink(missing_ok=True)


def start_record(
    paths: Paths, select: list[str] | None = None, project_code_hash: str | None = None
) -> BuildRecord:
    """Write the `running` record of a new build and return it."""
    started = _now()
    record = BuildRecord(
        build_id=f"{started.strftime('%Y%m%dT%H%M%S%fZ')}-{uuid.uuid4().hex[:8]}",
        state=RUNNING,
        started_at=started.isoformat(),
        pid=os.getpid(),
        host=socket.gethostname(),
        database=str(paths.duckdb_path),
        target_dir=str(paths.target_dir),
        landing_dir=str(paths.landing_dir),
        select=list(select) if select else None,
        code_hash=project_code_hash or code_hash(paths.project_dir),
    )
    write_record(paths.target_dir, record)
    _prune(paths.target_dir)
    return record


def finish_record(
    paths: Paths,
    record: BuildRecord,
    state: str,
    *,
    invocation_id: str | None = None,
    reasons: list[str] | None = None,
) -> BuildRecord:
    """Write the final state of a build."""
    record.state = state
    record.finished_at = _now().isoformat()
    record.dbt_invocation_id = invocation_id
    record.reasons = list(reasons or [])
    write_record(paths.target_dir, record)
    return record


# --- the lock -----------------------------------------------------------------------------


def _holder(path: Path) -> str:
    try:
        text = path.read_text(encoding="utf-8").strip()
    except OSError:
        return ""
    return text


def build_is_running(database: Path) -> bool:
    """True when a build holds the lock of `database` (probed shared: exports do not count)."""
    path = lock_path(database)
    if not path.exists():
        return False
    with path.open("a+", encoding="utf-8") as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError as error:
            if error.errno in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                return True
            raise
        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
    return False


@contextmanager
def build_lock(database: Path, command: str, *, shared: bool = False) -> Iterator[None]:
    """Hold the build lock of `database` for the block, or raise BuildLockedError at once.

    A build takes it exclusively (and writes its PID into the lock file); an export takes it
    shared. The OS releases it when the process ends, however it ends.
    """
    database = Path(database)
    path = lock_path(database)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = path.open("a+", encoding="utf-8")
    try:
        try:
            fcntl.flock(
                handle.fileno(), (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB
            )
        except OSError as error:
            if error.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                raise
            holder = _holder(path) or "an export reading it"
            action = "export" if shared else "build"
            raise BuildLockedError(
                f"{database} is held by another trainset process ({holder}; lock file "
                f"{path}): wait for it to finish and run `trainset {action}` again, or point "
                f"TRAINSET_DUCKDB_PATH at another file. This {command} changed nothing."
            ) from None
        if not shared:
            handle.seek(0)
            handle.truncate()
            handle.write(f"trainset {command}, PID {os.getpid()} on {socket.gethostname()}")
            handle.flush()
        try:
            yield
        finally:
            if not shared:
                handle.seek(0)
                handle.truncate()
                handle.flush()
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
    finally:
        handle.close()
