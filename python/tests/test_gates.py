"""The export gate's logic on small hand-made dbt artifacts."""

from __future__ import annotations

import pytest

from trainset.gates import check_gate, required_nodes, upstream_nodes

MANIFEST = {
    "nodes": {
        "model.p.stg": {"original_file_path": "models/stg.sql"},
        "model.p.feat": {"original_file_path": "models/feat.sql"},
        "model.p.train": {"original_file_path": "models/train.sql"},
        "model.p.other": {"original_file_path": "models/other.sql"},
        "test.p.unique_stg": {"original_file_path": "models/stg.yml"},
        "test.p.other_test": {"original_file_path": "models/other.yml"},
    },
    "parent_map": {
        "model.p.stg": ["source.p.raw.orders"],
        "model.p.feat": ["model.p.stg"],
        "model.p.train": ["model.p.feat"],
        "model.p.other": ["model.p.stg"],
        "test.p.unique_stg": ["model.p.stg"],
        "test.p.other_test": ["model.p.other"],
    },
    "child_map": {
        "source.p.raw.orders": ["model.p.stg"],
        "model.p.stg": ["model.p.feat", "model.p.other", "test.p.unique_stg"],
        "model.p.feat": ["model.p.train"],
        "model.p.other": ["test.p.other_test"],
        "model.p.train": [],
    },
    "unit_tests": {
        "unit_test.p.train.leak": {"depends_on": {"nodes": ["model.p.train"]}},
        "unit_test.p.other.x": {"depends_on": {"nodes": ["model.p.other"]}},
    },
}


def results(**statuses: str) -> dict:
    return {
        "metadata": {"invocation_id": "abc"},
        "results": [{"unique_id": key, "status": value} for key, value in statuses.items()],
    }


def all_passing() -> dict:
    return results(
        **{
            "model.p.stg": "success",
            "model.p.feat": "success",
            "model.p.train": "success",
            "test.p.unique_stg": "pass",
            "unit_test.p.train.leak": "pass",
        }
    )


def test_upstream_follows_parents_transitively_and_ignores_siblings():
    assert upstream_nodes(MANIFEST, "model.p.train") == {
        "model.p.train",
        "model.p.feat",
        "model.p.stg",
        "source.p.raw.orders",
    }
    required = required_nodes(MANIFEST, "model.p.train")
    assert "test.p.unique_stg" in required and "unit_test.p.train.leak" in required
    assert "model.p.other" not in required and "test.p.other_test" not in required
    assert "unit_test.p.other.x" not in required


def test_gate_passes_when_everything_upstream_passed():
    report = check_gate(MANIFEST, all_passing(), "model.p.train")
    assert report.ok and report.invocation_id == "abc"
    assert len(report.passed) == 5


def test_a_failing_upstream_test_blocks_with_its_location():
    run = all_passing()
    run["results"][3].update(status="fail", failures=7, message="Got 7 results")
    report = check_gate(MANIFEST, run, "model.p.train")
    assert not report.ok
    assert report.problems == [
        "test.p.unique_stg fail (7 failing rows): Got 7 results [defined in models/stg.yml]"
    ]


def test_warn_passes_but_is_reported():
    run = all_passing()
    run["results"][3]["status"] = "warn"
    report = check_gate(MANIFEST, run, "model.p.train")
    assert report.ok and report.warned == ["test.p.unique_stg"]


def test_nodes_missing_from_a_partial_run_block():
    run = all_passing()
    run["results"] = [r for r in run["results"] if r["unique_id"] != "unit_test.p.train.leak"]
    report = check_gate(MANIFEST, run, "model.p.train")
    assert not report.ok
    assert "unit_test.p.train.leak did not run" in report.problems[0]


def test_skipped_downstream_blocks():
    run = all_passing()
    run["results"][2]["status"] = "skipped"
    assert not check_gate(MANIFEST, run, "model.p.train").ok


def test_unknown_model_is_a_clear_error():
    from trainset.gates import GateError

    with pytest.raises(GateError, match="not in target/manifest.json"):
        check_gate(MANIFEST, all_passing(), "model.p.nope")
