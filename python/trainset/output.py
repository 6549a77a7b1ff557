"""What the command line prints, in one place.

- Results (a path, a table, a verdict) go to stdout, so scripts can read them.
- Everything else goes to stderr: one line per finished step (what ran, how long, where the
  result is), warnings, and errors as one line naming what to fix.
- Long steps report progress: on a terminal one line rewritten in place, led by a bar when the
  line counts `done/total` (dbt's nodes, the generator's chunks); otherwise a plain line
  at most every `PROGRESS_EVERY` seconds, so a CI log stays short. No escape codes are written
  when stderr is not a terminal.
- `--verbose` adds dbt's own log, line by line (as plain text), and the progress of every step.
"""

from __future__ import annotations

import re
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

PROGRESS_EVERY = 15.0  # seconds between progress lines when stderr is not a terminal
CLEAR_LINE = "\r\x1b[K"
BAR_WIDTH = 24  # characters of the bar drawn before a progress line that counts `done/total`
FRACTION = re.compile(r"(\d[\d,]*)/(\d[\d,]*)")


class Output:
    """The command line's printer; library functions take its methods as callbacks."""

    def __init__(
        self,
        *,
        verbose: bool = False,
        out: TextIO | None = None,
        err: TextIO | None = None,
        terminal: bool | None = None,
    ) -> None:
        self.verbose = verbose
        self.out = out or sys.stdout
        self.err = err or sys.stderr
        self.terminal = self.err.isatty() if terminal is None else terminal
        self._progress_shown = False
        self._last_progress = float("-inf")

    def result(self, text: str) -> None:
        """A result a script may read (stdout)."""
        self._end_progress()
        print(text, file=self.out, flush=True)

    def say(self, text: str) -> None:
        """A line for the person running the command (stderr)."""
        self._end_progress()
        print(text, file=self.err, flush=True)

    def warn(self, text: str) -> None:
        self.say(f"warning: {text}")

    def detail(self, text: str) -> None:
        """A line shown only with --verbose (dbt's log, each step's messages)."""
        if self.verbose:
            self.say(text)

    def progress(self, text: str) -> None:
        """The state of a long step: rewritten in place on a terminal, throttled otherwise."""
        if self.verbose:
            self.say(text)
            return
        now = time.monotonic()
        if self.terminal:
            self.err.write(CLEAR_LINE + bar(text) + text)
            self.err.flush()
            self._progress_shown = True
        elif now - self._last_progress >= PROGRESS_EVERY:
            print(text, file=self.err, flush=True)
        else:
            return
        self._last_progress = now

    def _end_progress(self) -> None:
        if self._progress_shown:
            self.err.write(CLEAR_LINE)
            self.err.flush()
            self._progress_shown = False

    @contextmanager
    def step(self, name: str) -> Iterator[dict[str, object]]:
        """Run a step and say `<name>: done in 3.2 s` (plus `where` if the block sets it)."""
        started = time.monotonic()
        self._last_progress = started
        facts: dict[str, object] = {}
        yield facts
        seconds = time.monotonic() - started
        facts["seconds"] = seconds
        where = f" -> {facts['where']}" if facts.get("where") else ""
        self.say(f"{name}: {facts.get('status', 'done')} in {seconds:.1f} s{where}")


def bar(text: str) -> str:
    """The bar drawn before a progress line on a terminal, from the first `done/total` in it
    (`chunk 3/20`, `dbt build: 120/322 nodes`): filled in proportion, then the percentage.
    Empty when the line counts nothing."""
    match = FRACTION.search(text)
    if not match:
        return ""
    done, total = (int(group.replace(",", "")) for group in match.groups())
    if total <= 0:
        return ""
    share = min(max(done / total, 0.0), 1.0)
    filled = round(share * BAR_WIDTH)
    return f"{'█' * filled}{'░' * (BAR_WIDTH - filled)} {share:4.0%} "


def quiet(_: str) -> None:
    """A progress callback that shows nothing (the library's default)."""
