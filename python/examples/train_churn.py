"""Train a churn classifier on the latest exported churn_30d training set.

    python python/examples/train_churn.py [--version V] [--exports-dir DIR] [--out DIR]

Loads the train, validation and test splits recorded in the export's manifest (time-ordered,
purged by the label horizon), fits a gradient-boosted classifier, reports ROC AUC on validation
and test next to a constant baseline, and writes `model_card.json` and `model_card.md` naming
the training-set version and content hash.
"""

from __future__ import annotations

import argparse
import json
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
    parser.add_argument("--out", default="model", help="folder for the model card (model/)")
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
    for name, values in metrics.items():
        print(
            f"{name}: ROC AUC {values['roc_auc']:.3f} on {values['rows']:,} rows (constant baseline 0.500)"
        )
    print(f"model card: {out / 'model_card.json'}")
    return card


if __name__ == "__main__":
    main()
