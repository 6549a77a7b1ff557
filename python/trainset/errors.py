"""Every error the package raises on purpose derives from `TrainsetError`, and each kind carries
the exit code the command line returns for it, so scripts can tell what went wrong:

    0  ok
    1  a check the command ran did not pass (verify found a mismatch, drift or skew past its
       bound): the command worked and its answer is no
    2  usage: a wrong argument, an unknown task or command
    3  input: the landing files, the project or a file the command needs is missing or invalid
    4  not found: no export, version or result matches (the request was valid)
    5  refused: a gate (data tests, drift, freshness) refused the data
    6  build failed: dbt could not run or a model failed
    7  busy: another build holds the database or the build lock; run again when it is done
    8  integrity: an exported file does not match its manifest
   70  an unexpected error, a defect: run again with --debug and report the traceback

The message of every error names what to fix; the command line prints it as one line.
Subclasses keep the standard base (ValueError, LookupError, RuntimeError) they had, so code that
catches those still works.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_CHECK_FAILED = 1
EXIT_USAGE = 2
EXIT_INPUT = 3
EXIT_NOT_FOUND = 4
EXIT_REFUSED = 5
EXIT_BUILD_FAILED = 6
EXIT_BUSY = 7
EXIT_INTEGRITY = 8
EXIT_UNEXPECTED = 70


class TrainsetError(Exception):
    """Base class: an error whose message says what to fix, with the command line's exit code."""

    exit_code = EXIT_UNEXPECTED


class UsageError(TrainsetError, ValueError):
    """The command or function was called wrongly (an argument, a task name)."""

    exit_code = EXIT_USAGE


class InputError(TrainsetError, ValueError):
    """An input the command reads (landing files, project, a file) is missing or invalid."""

    exit_code = EXIT_INPUT


class NotFoundError(TrainsetError, LookupError):
    """A valid request matched nothing (no export, no such version)."""

    exit_code = EXIT_NOT_FOUND


class RefusedError(TrainsetError, RuntimeError):
    """A gate refused the data: a data test, drift or freshness bound failed."""

    exit_code = EXIT_REFUSED


class BuildFailedError(TrainsetError, RuntimeError):
    """dbt could not run, or a model or test errored."""

    exit_code = EXIT_BUILD_FAILED


class BusyError(TrainsetError, RuntimeError):
    """Another process holds the database or the build lock."""

    exit_code = EXIT_BUSY


class IntegrityError(TrainsetError, RuntimeError):
    """An exported version does not match its manifest."""

    exit_code = EXIT_INTEGRITY
