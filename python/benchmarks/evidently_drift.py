"""Evidently's data-drift preset on two Parquet files, as a peer to compare trainset's drift with.

Evidently 0.7 does not import with pandas 3, so it never enters the project's environment: this
file's `ensure_environment()` (run by the project's Python) builds a virtual environment of its
own in a cache folder, and the same file, run by that environment's Python, runs the preset:

    <venv>/bin/python evidently_drift.py REFERENCE CURRENT KINDS.json OUT.json [--html F] [--repeat N]

KINDS.json maps each feature to "numeric" or "categorical" (the declared types). OUT.json gets,
per feature, Evidently's method, score, threshold and verdict, the data set's verdict, and the
seconds each of the `--repeat` runs of the preset took (reading the files excluded), the median
CPU seconds of a run and the process's peak resident memory.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

EVIDENTLY_VERSION = "0.7.23"
METHODS = {
    "K-S p_value": "ks",
    "chi-square p_value": "chisquare",
    "Z-test p_value": "z",
    "Wasserstein distance (normed)": "wasserstein",
    "Jensen-Shannon distance": "jensenshannon",
    "PSI": "psi",
}


def environment_dir() -> Path:
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    return cache / "trainset" / f"evidently-{EVIDENTLY_VERSION}"


def ensure_environment() -> Path:
    """The Python of a virtual environment holding Evidently (created on first use)."""
    folder = environment_dir()
    python = folder / "bin" / "python"
    probe = [
        str(python),
        "-c",
        "import evidently, sys; sys.exit(evidently.__version__ != sys.argv[1])",
    ]
    if python.is_file() and subprocess.run([*probe, EVIDENTLY_VERSION]).returncode == 0:
        byte_compile(folder)
        return python
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(folder)], check=True)
    subprocess.run(
        [
            str(python),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--no-compile",
            f"evidently=={EVIDENTLY_VERSION}",
            "pandas<3",
        ],
        check=True,
    )
    byte_compile(folder)
    return python


def byte_compile(folder: Path) -> None:
    """Byte-compile a virtual environment's modules once, on every core (pip installs them
    with --no-compile, one core at a time otherwise): where Python may not write bytecode
    (PYTHONDONTWRITEBYTECODE=1), each run would compile pandas and its peers again."""
    marker = folder / ".compiled"
    if marker.is_file():
        return
    python = folder / "bin" / "python"
    command = [
        str(python),
        "-m",
        "compileall",
        "-q",
        "-j",
        "0",
        "-x",
        "/tests?/",
        str(folder / "lib"),
    ]
    subprocess.run(command, check=True)
    marker.touch()


def run(
    reference: Path,
    current: Path,
    kinds: dict[str, str],
    out: Path,
    html: Path | None = None,
    repeat: int = 1,
) -> dict:
    """Run the preset in its own environment; return what it wrote to `out`."""
    python = ensure_environment()
    kinds_file = out.with_suffix(".kinds.json")
    kinds_file.write_text(json.dumps(kinds))
    command = [str(python), __file__, str(reference), str(current), str(kinds_file), str(out)]
    if html is not None:
        command += ["--html", str(html)]
    command += ["--repeat", str(repeat)]
    subprocess.run(command, check=True)
    return json.loads(out.read_text())


def _main(argv: list[str]) -> None:
    import resource

    import pandas as pd
    from evidently.legacy.metric_preset import DataDriftPreset
    from evidently.legacy.pipeline.column_mapping import ColumnMapping
    from evidently.legacy.report import Report

    reference_path, current_path, kinds_path, out_path = argv[:4]
    html = argv[argv.index("--html") + 1] if "--html" in argv else None
    repeat = int(argv[argv.index("--repeat") + 1]) if "--repeat" in argv else 1
    kinds = json.loads(Path(kinds_path).read_text())
    numeric = [name for name, kind in kinds.items() if kind == "numeric"]
    categorical = [name for name, kind in kinds.items() if kind == "categorical"]
    reference = pd.read_parquet(reference_path, columns=numeric + categorical)
    current = pd.read_parquet(current_path, columns=numeric + categorical)
    timings, cpu = [], []
    for _ in range(repeat):
        started, used = time.perf_counter(), resource.getrusage(resource.RUSAGE_SELF)
        report = Report(metrics=[DataDriftPreset()])
        report.run(
            reference_data=reference,
            current_data=current,
            column_mapping=ColumnMapping(
                numerical_features=numeric,
                categorical_features=categorical,
                target=None,
                prediction=None,
            ),
        )
        result = report.as_dict()
        timings.append(time.perf_counter() - started)
        after = resource.getrusage(resource.RUSAGE_SELF)
        cpu.append(after.ru_utime + after.ru_stime - used.ru_utime - used.ru_stime)
    html_seconds = None
    if html:
        started = time.perf_counter()
        report.save_html(html)
        html_seconds = time.perf_counter() - started
    table = next(
        metric["result"] for metric in result["metrics"] if metric["metric"] == "DataDriftTable"
    )
    features = {
        name: {
            "method": METHODS.get(entry["stattest_name"], entry["stattest_name"]),
            "score": entry["drift_score"],
            "threshold": entry["stattest_threshold"],
            "drifted": bool(entry["drift_detected"]),
        }
        for name, entry in table["drift_by_columns"].items()
    }
    Path(out_path).write_text(
        json.dumps(
            {
                "features": features,
                "dataset_drift": bool(table["dataset_drift"]),
                "share_of_drifted_columns": table["share_of_drifted_columns"],
                "seconds": sorted(timings)[len(timings) // 2],
                "timings": timings,
                "cpu_seconds": sorted(cpu)[len(cpu) // 2],
                "peak_memory_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                "html_seconds": html_seconds,
            },
            default=float,
        )
    )


if __name__ == "__main__":
    _main(sys.argv[1:])
