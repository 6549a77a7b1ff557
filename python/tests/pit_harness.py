"""Compile point-in-time macro calls once with dbt, then run the SQL many times.

A dbt invocation costs seconds, a property test needs hundreds of cases: the calls are
compiled once per adapter (`trainset.compile`), and the compiled SQL names plain tables
(`spine`, `features`) that each test case fills. Also starts a throwaway PostgreSQL server.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from trainset.compile import compile_macro_calls


def compile_calls(
    calls: dict[str, str], workdir: Path, target: str = "dev", pg_port: int = 5432
) -> dict[str, str]:
    """Compile each `{name: jinja}` as an analysis; return `{name: sql}`."""
    return compile_macro_calls(calls, workdir, target=target, pg_port=pg_port)


@dataclass
class PostgresServer:
    port: int
    data_dir: Path

    def connect(self):
        import psycopg2

        connection = psycopg2.connect(
            host="127.0.0.1", port=self.port, user="postgres", dbname="trainset"
        )
        connection.autocommit = True
        return connection


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _postgres_bin() -> Path:
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))
    if not candidates:
        raise RuntimeError(
            "PostgreSQL is not installed: the portability tests start a throwaway server. "
            "Install it with `apt-get install -y postgresql` (CI does this in .ci/run)."
        )
    return candidates[-1].parent


def _run(command: list[str]) -> None:
    completed = subprocess.run(command, capture_output=True, text=True)
    if completed.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{completed.stdout}\n{completed.stderr}")


def _as_postgres(command: list[str]) -> list[str]:
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *command]
    return command


def start_postgres() -> Iterator[PostgresServer]:
    """Start a throwaway PostgreSQL server on loopback; stop it and remove its files after.

    Its folder is a fresh one under the system temp dir that the `postgres` user can reach
    (PostgreSQL refuses to run as root, so the tests run it as `postgres` when they are root).
    """
    binaries = _postgres_bin()
    root = Path(tempfile.mkdtemp(prefix="trainset-pg-"))
    root.chmod(0o755)
    data_dir = root / "pgdata"
    socket_dir = root / "pgsocket"
    for folder in (data_dir, socket_dir):
        folder.mkdir(parents=True)
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
        for folder in (data_dir, socket_dir):
            shutil.chown(folder, "postgres")
    port = _free_port()
    subprocess.run(
        _as_postgres(
            [
                str(binaries / "initdb"),
                "-D",
                str(data_dir),
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
            ]
        ),
        check=True,
        capture_output=True,
    )
    _run(
        _as_postgres(
            [
                str(binaries / "pg_ctl"),
                "-D",
                str(data_dir),
                "-l",
                str(root / "postgres.log"),
                "-o",
                f"-p {port} -k {socket_dir} -c listen_addresses=127.0.0.1 -c fsync=off -c TimeZone=UTC",
                "-w",
                "start",
            ]
        )
    )
    try:
        import psycopg2

        deadline = time.monotonic() + 30
        while True:
            try:
                connection = psycopg2.connect(
                    host="127.0.0.1", port=port, user="postgres", dbname="postgres"
                )
                break
            except psycopg2.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        connection.autocommit = True
        connection.cursor().execute("create database trainset")
        connection.close()
        yield PostgresServer(port=port, data_dir=data_dir)
    finally:
        subprocess.run(
            _as_postgres(
                [str(binaries / "pg_ctl"), "-D", str(data_dir), "-m", "immediate", "stop"]
            ),
            capture_output=True,
        )
        shutil.rmtree(root, ignore_errors=True)
