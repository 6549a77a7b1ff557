"""Train a churn classifier on the latest exported churn_30d training set.

    .venv/bin/python python/examples/train_churn.py [--version V] [--exports-dir DIR] [--out DIR]
        [--tracking-uri URI] [--no-mlflow]

Loads the train, validation and test splits recorded in the export's manifest (time-ordered,
purged by the label horizon), fits a gradient-boosted classifier, reports ROC AUC on validation
and test next to a constant baseline, and writes `model_card.json` and `model_card.md` naming
the training-set version and content hash.

The model is logged to MLflow (a local store, `mlruns/mlflow.db` in the project, with its
artifacts in `mlruns/artifacts/`, unless a tracking URI is given) and registered as `churn_30d`, with the training-set version, the SHA-256 of its
manifest file and of its data as `trainset.*` tags, and the metrics, so
`trainset lineage models:/churn_30d/N` walks from the model back to the data.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
from pathlib import Path

import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import roc_auc_score

import trainset


def prepare(frame: pd.DataFrame, manifest: dict) -> tuple[pd.DataFrame, pd.Series]:
    features = [feature["name"] for feature in manifest["feature_definitions"]["features"]]
    data = frame[features].copy()
    for name in data.columns:
        if pd.api.types.is_string_dtype(data[name]) or pd.api.types.is_object_dtype(data[name]):
            data[name] = data[name].astype("category")
    return data, frame[manifest["label_column"]].astype(int)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--version", help="training-set version (default: LATEST)")
    parser.add_argument("--exports-dir", help="exports folder (default: the project's exports/)")
    parser.add_argument(
        "--out", default="data/model", help="folder for the model card (data/model, ignored by git)"
    )
    parser.add_argument("--tracking-uri", help="MLflow tracking URI (default: <project>/mlruns)")
    parser.add_argument("--no-mlflow", action="store_true", help="do not log to MLflow")
    args = parser.parse_args(argv)

    manifest = trainset.load_manifest("churn_30d", args.version, args.exports_dir)
    version = manifest["version"]
    splits = {
        name: trainset.load("churn_30d", version, exports_dir=args.exports_dir, split=name)
        for name in ("train", "validation", "test")
    }
    x_train, y_train = prepare(splits["train"], manifest)
    model = HistGradientBoostingClassifier(
        max_iter=200, learning_rate=0.05, categorical_features="from_dtype", random_state=0
    )
    model.fit(x_train, y_train)
    metrics = {}
    for name in ("validation", "test"):
        x, y = prepare(splits[name], manifest)
        x = x.astype({column: x_train[column].dtype for column in x_train.columns})
        metrics[name] = {
            "rows": len(y),
            "positive_share": float(y.mean()),
            "roc_auc": float(roc_auc_score(y, model.predict_proba(x)[:, 1])),
            "constant_baseline_roc_auc": 0.5,
        }
    card = {
        "model": "HistGradientBoostingClassifier",
        "task": "churn_30d",
        "training_set_version": version,
        "training_set_sha256": manifest["content_sha256"],
        "features": list(x_train.columns),
        "splits": {
            name: {k: v for k, v in manifest["splits"][name].items() if k != "cutoffs"}
            for name in splits
        },
        "train_rows": len(y_train),
        "metrics": metrics,
    }
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "model_card.json").write_text(json.dumps(card, indent=2) + "\n")
    (out / "model_card.md").write_text(
        f"# Churn model\n\nTrained on `churn_30d` version `{version}` "
        f"(sha256 `{manifest['content_sha256']}`), {len(y_train):,} training rows.\n\n"
        f"| split | rows | ROC AUC |\n| --- | --- | --- |\n"
        + "".join(
            f"| {name} | {m['rows']:,} | {m['roc_auc']:.3f} |\n" for name, m in metrics.items()
        )
    )
    if not args.no_mlflow:
        card["mlflow"] = log_to_mlflow(model, card, manifest, args)
        (out / "model_card.json").write_text(json.dumps(card, indent=2) + "\n")
    for name, values in metrics.items():
        print(
            f"{name}: ROC AUC {values['roc_auc']:.3f} on {values['rows']:,} rows (constant baseline 0.500)"
        )
    print(f"model card: {out / 'model_card.json'}")
    return card


def log_to_mlflow(model, card: dict, manifest: dict, args: argparse.Namespace) -> dict:
    """Log and register the model with what it was trained on; returns the run and version."""
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    import mlflow
    import mlflow.sklearn

    from trainset.monitoring.lineage import TAG_PREFIX, artifact_location, default_tracking_uri
    from trainset.project import Paths
    from trainset.reader import resolve_version
    from trainset.store import MANIFEST_FILE

    paths = Paths.resolve()
    folder = resolve_version("churn_30d", manifest["version"], args.exports_dir)
    manifest_sha = hashlib.sha256((folder / MANIFEST_FILE).read_bytes()).hexdigest()
    tracking_uri = args.tracking_uri or default_tracking_uri(paths)
    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_registry_uri(tracking_uri)
    if mlflow.get_experiment_by_name("churn_30d") is None:
        mlflow.create_experiment("churn_30d", artifact_location=artifact_location(tracking_uri))
    mlflow.set_experiment("churn_30d")
    tags = {
        "task": "churn_30d",
        "training_set_version": manifest["version"],
        "manifest_sha256": manifest_sha,
        "content_sha256": manifest["content_sha256"],
        "exports_dir": str(folder.parent.parent.resolve()),
    }
    with mlflow.start_run() as run:
        mlflow.set_tags({TAG_PREFIX + key: value for key, value in tags.items()})
        mlflow.log_params({"model": card["model"], "train_rows": card["train_rows"]})
        for split, values in card["metrics"].items():
            mlflow.log_metric(f"{split}_roc_auc", values["roc_auc"])
        mlflow.log_artifact(str(folder / MANIFEST_FILE), artifact_path="training_set")
        # cloudpickle: the safe default format (skops) refuses the gradient-boosting trees
        info = mlflow.sklearn.log_model(
            model,
            name="model",
            registered_model_name="churn_30d",
            serialization_format=mlflow.sklearn.SERIALIZATION_FORMAT_CLOUDPICKLE,
        )
    version = getattr(info, "registered_model_version", None)
    print(
        f"mlflow: run {run.info.run_id}, registered churn_30d version {version} at {tracking_uri}"
    )
    return {"run_id": run.info.run_id, "tracking_uri": tracking_uri, "model_version": version}


if __name__ == "__main__":
    main()
