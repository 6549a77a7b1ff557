"""Shared fixtures: a small landing zone and a full `dbt build` in a DuckDB file of its own."""

from __future__ import annotations

import atexit
import functools
import math
import os
import random
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import core as hypothesis_core
from hypothesis import settings as hypothesis_settings

from trainset.packages import STAMP, packages_fingerprint
from trainset.project import Paths, find_project_dir
from trainset.sim import generate

PROJECT_DIR = find_project_dir(Path(__file__).parent)
SMALL = {"customers": 300, "days": 300, "seed": 11}

os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "False")
# Spark's code generation compiles Java for each query plan and expression: on the tests' small
# tables that costs more than it saves (a Spark build of the CI-sized data takes about a
# quarter less time without whole-stage code, and 5% less CPU time with expressions
# interpreted too; docs/scale-out.md). Results are the same either way.
os.environ.setdefault("TRAINSET_SPARK_CODEGEN", "false")
# The serial garbage collector: the JVM's default one runs threads of its own beside the two
# workers' processes; a whole-project Spark build took about 9% less CPU time with this one
# (229 and 243 CPU s against 253 and 269, 2026-11-30), in the same wall time.
os.environ.setdefault("TRAINSET_SPARK_JAVA_OPTIONS", "-XX:+UseSerialGC")

# ---- Hypothesis -------------------------------------------------------------------------------
# `ci` (the default under CI=true): derandomized, so a CI run draws the same examples every
# time, each test from a seed derived from its own name. `dev` (the default elsewhere): a fresh
# seed per run, printed in the header so a failure can be replayed with HYPOTHESIS_SEED.
# `long` (HYPOTHESIS_PROFILE=long, on demand): the same, with EXAMPLE_SCALE times the examples.
HYPOTHESIS_PROFILES = {"ci": 1, "dev": 1, "long": 20}
HYPOTHESIS_PROFILE = os.environ.get("HYPOTHESIS_PROFILE") or (
    "ci" if os.environ.get("CI") else "dev"
)
if HYPOTHESIS_PROFILE not in HYPOTHESIS_PROFILES:
    raise pytest.UsageError(
        f"HYPOTHESIS_PROFILE={HYPOTHESIS_PROFILE!r} is not a profile of this project; use one of "
        f"{', '.join(HYPOTHESIS_PROFILES)}"
    )
EXAMPLE_SCALE = HYPOTHESIS_PROFILES[HYPOTHESIS_PROFILE]
for _name in HYPOTHESIS_PROFILES:
    hypothesis_settings.register_profile(
        _name, derandomize=_name == "ci", print_blob=True, deadline=None
    )
hypothesis_settings.load_profile(HYPOTHESIS_PROFILE)


def examples(count: int) -> int:
    """A property test's example count, scaled by the profile (`long` runs many more)."""
    return count * EXAMPLE_SCALE


def _hypothesis_seed() -> int | None:
    if HYPOTHESIS_PROFILE == "ci":
        return None
    seed = os.environ.get("HYPOTHESIS_SEED")
    return int(seed) if seed else random.SystemRandom().randrange(2**32)


HYPOTHESIS_SEED = _hypothesis_seed()


def pytest_configure(config: pytest.Config) -> None:
    # The same seed in every xdist worker: the controller's is handed down through the
    # environment, which the workers inherit.
    if HYPOTHESIS_SEED is not None and config.getoption("hypothesis_seed", None) is None:
        os.environ.setdefault("HYPOTHESIS_SEED", str(HYPOTHESIS_SEED))
        hypothesis_core.global_force_seed = int(os.environ["HYPOTHESIS_SEED"])


def pytest_report_header(config: pytest.Config) -> str:
    if HYPOTHESIS_SEED is None:
        return (
            f"hypothesis: profile {HYPOTHESIS_PROFILE!r}, derandomized (each test's seed comes "
            "from its name; the run repeats exactly)"
        )
    return (
        f"hypothesis: profile {HYPOTHESIS_PROFILE!r}, seed {os.environ['HYPOTHESIS_SEED']} "
        f"(replay: HYPOTHESIS_PROFILE={HYPOTHESIS_PROFILE} "
        f"HYPOTHESIS_SEED={os.environ['HYPOTHESIS_SEED']})"
    )


# ---- Parallel workers (pytest-xdist, `make pytest` runs two) -----------------------------------
# Each module runs whole in one worker, so its module fixtures (compiled macros, exports, a
# PostgreSQL server) are made once; the Spark tests that use the in-process session
# (`test_spark_*.py`) share one worker and its one JVM. Each whole-project Spark build
# (SPARK_OWN_GROUP) is a group of its own: `trainset build` runs dbt in a child process with a
# JVM of its own, so it needs no shared session, and the longest test of the suite then runs
# beside the shared session's group. Session fixtures are per worker, in the worker's own temporary folder.
#
# The groups are made by the scheduler below rather than by `xdist_group` markers: with pytest 9
# the marker no longer reaches the test id pytest-xdist 3.8 schedules by, so marked tests were
# spread one by one over the workers (a module fixture was then made in both workers, and a test
# that read what an earlier test of its module built ran where nothing was built).
SPARK_OWN_GROUP = {"test_spark_training_set.py"}
SPARK_SESSION_GROUP = {
    "test_spark_another_seed.py",
    "test_spark_point_in_time.py",
    "test_spark_sources_and_seeds.py",
}


def worker_group(nodeid: str) -> str:
    """The worker group of a test id: its module, the shared Spark session, or its own."""
    module = nodeid.split("::")[0]
    name = module.rsplit("/", 1)[-1]
    if name in SPARK_OWN_GROUP:
        return nodeid
    if name in SPARK_SESSION_GROUP:
        return "spark"
    return module


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if item.get_closest_marker("spark") and item.path.name not in (
            SPARK_OWN_GROUP | SPARK_SESSION_GROUP
        ):
            raise pytest.UsageError(
                f"{item.path.name} has Spark tests: add it to SPARK_SESSION_GROUP or "
                "SPARK_OWN_GROUP in python/tests/conftest.py"
            )


# Groups start longest first (the greedy schedule for two workers): a long group drawn last
# would leave the other worker idle while it runs. xdist alone orders groups by their number of
# tests, which put one-test modules of 25 to 45 s among the last. The figures are each group's
# summed time in a run of the whole suite (CI=true, 2026-11-30, 319 tests in 724 s); they only
# order the start, so an outdated one costs time, never a result. A group not listed starts
# after these, most tests first.
GROUP_SECONDS = {
    "test_spark_training_set.py": 249,  # its one test, the whole project on Spark
    "test_drift_pipeline.py": 181,
    "spark": 170,  # the shared session's modules (83 s), then the other seed's Spark build
    "test_incremental.py": 116,
    "test_faults.py": 109,
    "test_staging_faults.py": 98,
    "test_availability.py": 57,
    "test_point_in_time.py": 50,
    "test_drift_statistics.py": 38,
    "test_drift_postgres.py": 37,
    "test_dbt_expectations.py": 35,
    "test_products.py": 31,
    "test_web_sessions.py": 27,
    "test_cli.py": 27,
    "test_build_record.py": 27,
    "test_schema_names.py": 25,
    "test_horizon.py": 22,
    "test_docs.py": 13,
    "test_pipeline.py": 12,
    "test_online_server.py": 11,
    "test_online_feast.py": 11,
    "test_packages.py": 11,
}


def expected_seconds(group: str) -> int:
    """A group's place in the start order: its figure in GROUP_SECONDS, or 0."""
    module = group.split("::")[0].rsplit("/", 1)[-1]
    return GROUP_SECONDS.get(group, GROUP_SECONDS.get(module, 0))


def pytest_xdist_make_scheduler(config: pytest.Config, log):
    from xdist.scheduler import LoadScopeScheduling

    class ByWorkerGroup(LoadScopeScheduling):
        ordered = False

        def _split_scope(self, nodeid: str) -> str:
            return worker_group(nodeid)

        def _assign_work_unit(self, node) -> None:
            if not self.ordered:
                self.ordered = True
                for group in sorted(self.workqueue, key=expected_seconds):
                    if expected_seconds(group):
                        self.workqueue.move_to_end(group, last=False)
            super()._assign_work_unit(node)

    return ByWorkerGroup(config, log)


def same_value(left, right) -> bool:
    """Equal, floats within 1e-9 (relative or absolute), two NaNs or two nulls equal."""
    if isinstance(left, float) or isinstance(right, float):
        if left is None or right is None:
            return left is None and right is None
        if math.isnan(left) or math.isnan(right):
            return math.isnan(left) and math.isnan(right)
        return math.isclose(left, right, rel_tol=1e-9, abs_tol=1e-9)
    return left == right


# Instants at the edges of day and calendar arithmetic, as `timestamptz` literals (None: null):
# both sides of midnight to the microsecond, month and leap-year ends, offsets, before 1970,
# year 1 and 9999, infinities. Read by the tests of the macros that replace a time zone
# conversion with epoch arithmetic.
EDGE_INSTANTS = [
    "2025-01-31 23:59:59.999999+00",
    "2025-02-01 00:00:00+00",
    "2024-02-29 23:59:59.999999+00",
    "2024-03-01 00:00:00.000001+00",
    "2025-03-01 00:30:00+02:00",
    "2025-02-28 23:30:00-05:00",
    "1969-12-31 23:59:59.999999+00",
    "1970-01-01 00:00:00+00",
    "1900-03-01 12:00:00+00",
    "0001-01-01 00:00:00+00",
    "9999-12-31 23:59:59.999999+00",
    "infinity",
    "-infinity",
    None,
]


def edge_moments(kind: str) -> str:
    """SQL for a relation with one column, `moment`, of type `kind` (timestamptz or timestamp),
    holding EDGE_INSTANTS in order."""
    values = ", ".join(
        "(null)" if text is None else f"('{text}'::timestamptz)" for text in EDGE_INSTANTS
    )
    return f"(select cast(moment as {kind}) as moment from (values {values}) as given (moment))"


def macro_expressions(macro: str, column: str, workdir: Path) -> dict[str, str]:
    """The SQL expression `trainset.<macro>(column)` compiles to on DuckDB (`duckdb`) and in its
    portable implementation (`portable`); the macro is one of macros/utils."""
    from trainset.compile import compile_macro_calls

    compiled = compile_macro_calls(
        {
            "duckdb": f"select {{{{ trainset.{macro}('{column}') }}}}",
            "portable": f"select {{{{ trainset.default__{macro}('{column}') }}}}",
        },
        workdir,
        macro_folders=("utils",),
    )
    return {name: sql.strip().removeprefix("select").strip() for name, sql in compiled.items()}


@dataclass
class Built:
    """A landing zone, its build and what the generator injected."""

    paths: Paths
    summary: dict
    success: bool


@functools.cache
def project_snapshot() -> Path:
    """The dbt project as it was when the session started, copied once: builds and exports in
    tests see one version of the code while the working tree is edited (an export refuses code
    that changed since its build). The Python package is imported from the working tree."""
    root = Path(tempfile.mkdtemp(prefix="trainset-project-"))
    atexit.register(shutil.rmtree, root, ignore_errors=True)
    snapshot = root / "project"
    shutil.copytree(
        PROJECT_DIR,
        snapshot,
        ignore=shutil.ignore_patterns(
            ".venv",
            ".git",
            "data",
            "exports",
            "target",
            "target.*",
            "logs",
            "dbt_packages",
            "python",
            "*.duckdb",
        ),
    )
    (snapshot / "dbt_packages").mkdir()
    (snapshot / "dbt_packages" / "dbt_expectations").symlink_to(
        snapshot / "local_packages" / "dbt_expectations"
    )
    # The link is what `dbt deps` installs: marked current, no build of the session runs it
    # (a test counting dbt's starts in its log would otherwise see one more in whichever build
    # came first in its process).
    (snapshot / STAMP).write_text(packages_fingerprint(snapshot) + "\n")
    return snapshot


def project_paths(root: Path) -> Paths:
    """The paths of a build under `root`, of the session's project snapshot."""
    return Paths(
        project_dir=project_snapshot(),
        duckdb_path=root / "trainset.duckdb",
        landing_dir=root / "landing",
        exports_dir=root / "exports",
        target_dir=root / "target",
    )


@functools.cache
def saved_parse() -> Path:
    """dbt's saved parse of the project snapshot (`dbt parse`), made once per process."""
    from trainset.dbt import run_dbt

    root = Path(tempfile.mkdtemp(prefix="trainset-parse-"))
    atexit.register(shutil.rmtree, root, ignore_errors=True)
    paths = project_paths(root)
    assert run_dbt(["parse"], paths).success, f"dbt parse failed; see {paths.target_dir}"
    return paths.target_dir / "partial_parse.msgpack"


def make_paths(root: Path) -> Paths:
    """The paths of a new build under `root`. Its target folder starts with dbt's saved parse
    of the project, as a user's does after a first build: dbt parses nothing again (the landing
    and exports folders are read only when executing), where a full parse takes 8.2 s against
    3.2 s for a whole `dbt parse` process. A test's own `--vars` or target still get a full
    parse."""
    return with_saved_parse(project_paths(root))


def with_saved_parse(paths: Paths) -> Paths:
    """`paths` with dbt's saved parse of the project in its target folder (see make_paths)."""
    paths.target_dir.mkdir(parents=True, exist_ok=True)
    shutil.copy2(saved_parse(), paths.target_dir / "partial_parse.msgpack")
    return paths


def build(paths: Paths, *extra: str) -> bool:
    """`trainset build` (landing check, build record, dbt build) with dbt's logs in the target."""
    from trainset.pipeline import build as build_pipeline

    extra_args = ["--log-path", str(paths.target_dir / "logs"), *extra]
    return build_pipeline(paths, extra_args=extra_args, progress=lambda message: None).success


@pytest.fixture(scope="session")
def small_landing(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """One generated landing zone (faults on), copied by tests that change it."""
    root = tmp_path_factory.mktemp("landing")
    summary = generate(root / "landing", progress=lambda message: None, **SMALL)
    return root / "landing", summary


@pytest.fixture(scope="session")
def built(small_landing: tuple[Path, dict], tmp_path_factory: pytest.TempPathFactory) -> Built:
    """A full `dbt build` of the small landing zone. Read-only for tests: copy to change."""
    landing, summary = small_landing
    root = tmp_path_factory.mktemp("built")
    paths = make_paths(root)
    shutil.copytree(landing, paths.landing_dir)
    return Built(paths=paths, summary=summary, success=build(paths))


@pytest.fixture
def fresh_copy(small_landing: tuple[Path, dict], tmp_path: Path) -> Built:
    """A private copy of the small landing zone, not yet built."""
    landing, summary = small_landing
    paths = make_paths(tmp_path)
    shutil.copytree(landing, paths.landing_dir)
    return Built(paths=paths, summary=summary, success=False)
