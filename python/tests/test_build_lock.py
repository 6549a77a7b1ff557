"""The build lock on real files and processes: builds exclude each other and exports, exports
share, and a killed holder frees it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import pytest

from trainset.build import BuildLockedError, build_is_running, build_lock, lock_path


def hold(database, command: str, shared: bool) -> subprocess.Popen:
    script = textwrap.dedent(
        f"""
        import time
        from trainset.build import build_lock
        with build_lock({str(database)!r}, {command!r}, shared={shared}):
            print("held", flush=True)
            time.sleep(120)
        """
    )
    process = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert process.stdout.readline().strip() == "held"
    return process


def test_a_build_excludes_a_second_build_and_an_export_naming_its_pid(tmp_path):
    database = tmp_path / "x.duckdb"
    holder = hold(database, "build", shared=False)
    try:
        assert build_is_running(database)
        for shared in (False, True):
            command = "export" if shared else "build"
            with (
                pytest.raises(BuildLockedError) as error,
                build_lock(database, command, shared=shared),
            ):
                pass
            message = str(error.value)
            assert "\n" not in message
            assert f"PID {holder.pid}" in message and str(database) in message
    finally:
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait()
    # The OS released the lock of the killed process.
    assert not build_is_running(database)
    with build_lock(database, "build"):
        assert f"PID {os.getpid()}" in lock_path(database).read_text()
    assert lock_path(database).read_text() == ""


def test_exports_share_the_lock_and_keep_builds_out(tmp_path):
    database = tmp_path / "x.duckdb"
    reader = hold(database, "export", shared=True)
    try:
        assert not build_is_running(database)
        with build_lock(database, "export", shared=True):
            pass
        with (
            pytest.raises(BuildLockedError, match="an export reading it"),
            build_lock(database, "build"),
        ):
            pass
    finally:
        reader.kill()
        reader.wait()
