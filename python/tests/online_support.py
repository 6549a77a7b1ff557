"""Real servers for the online-serving tests and benchmark: a throwaway redis-server, the
trainset feature server under uvicorn, and Feast 0.67 in a virtual environment of its own
(never a dependency of the project), each on a free loopback port and stopped afterwards."""

from __future__ import annotations

import contextlib
import math
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb
import httpx

PROJECT_DIR = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(
    port: int, timeout: float = 30.0, process: subprocess.Popen | None = None
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"process exited with {process.returncode} before listening")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout} s")


def stop(process: subprocess.Popen, sig: int = signal.SIGTERM, timeout: float = 15.0) -> None:
    if process.poll() is None:
        process.send_signal(sig)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class RedisServer:
    """redis-server on a free loopback port, saving to its own folder on shutdown."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError(
                "redis-server is not installed: `apt-get install redis-server` (.ci/run does it)."
            )
        self.process = subprocess.Popen(
            [
                binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--dir",
                str(self.folder),
                "--save",
                "3600 1",
                "--appendonly",
                "no",
                "--protected-mode",
                "yes",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for_port(self.port, process=self.process)
        import redis

        client = redis.Redis(port=self.port)
        deadline = time.monotonic() + 60
        while True:  # a restarted server answers LOADING until its data is back in memory
            try:
                client.ping()
                break
            except redis.BusyLoadingError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        client.close()
        return self

    def stop(self) -> None:
        """SIGTERM: redis saves its data and exits, as in an orderly restart."""
        if self.process is not None:
            stop(self.process)
            self.process = None


class FeatureServer:
    """`trainset serve` under uvicorn in a subprocess."""

    def __init__(
        self, store: str, *, log_dir: Path | None = None, env: dict | None = None, workers: int = 1
    ):
        self.port = free_port()
        self.store = store
        self.log_dir = log_dir
        self.env = env or {}
        self.workers = workers
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> FeatureServer:
        command = [
            str(PROJECT_DIR / ".venv" / "bin" / "trainset"),
            "--project-dir",
            str(PROJECT_DIR),
            "serve",
            "--port",
            str(self.port),
            "--store",
            self.store,
            "--workers",
            str(self.workers),
        ]
        if self.log_dir is not None:
            command += ["--log-dir", str(self.log_dir)]
        environment = {**os.environ, **self.env}
        self.process = subprocess.Popen(command, env=environment, stderr=subprocess.PIPE)
        wait_for_port(self.port, process=self.process)
        return self

    def stop(self) -> None:
        if self.process is not None:
            stop(self.process)
            if self.process.stderr is not None:
                self.process.stderr.close()
            self.process = None


@contextlib.contextmanager
def feature_server(store: str, **kwargs) -> Iterator[FeatureServer]:
    server = FeatureServer(store, **kwargs).start()
    try:
        yield server
    finally:
        server.stop()


def post(url: str, body, **kwargs) -> httpx.Response:
    return httpx.post(f"{url}/get-online-features", json=body, timeout=30, **kwargs)


def mart(duckdb_path: Path) -> tuple[list[str], dict[int, dict], object]:
    connection = duckdb.connect(str(duckdb_path), read_only=True)
    try:
        connection.execute("set TimeZone = 'UTC'")
        frame = connection.execute(
            "select * from serving.serve_customer__features order by customer_id"
        ).df()
    finally:
        connection.close()
    columns = [name for name in frame.columns if name not in {"customer_id", "served_at"}]
    rows = {}
    for record in frame.to_dict("records"):
        rows[int(record["customer_id"])] = {
            name: (None if _missing(record[name]) else _plain(record[name])) for name in columns
        }
    return columns, rows, frame["served_at"].max().to_pydatetime()


def _missing(value) -> bool:
    return (
        value is None
        or (isinstance(value, float) and math.isnan(value))
        or str(value) in {"<NA>", "NaT"}
    )


def _plain(value):
    if hasattr(value, "item"):
        return value.item()
    return value
