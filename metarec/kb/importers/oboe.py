"""Oboe's dense error matrix: ~400 OpenML datasets x 218 scikit-learn 0.19 configurations.

Column headers are Python dict literals, parsed with ``ast.literal_eval`` (never ``eval``).
Values are balanced error rates (lower is better); the runtime matrix has the same shape.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pandas as pd

from metarec.kb.importers._common import ImportResult, configuration_row

SOURCE = "oboe"
FOLDER = "runs/oboe"

# Oboe standardised and one-hot encoded every dataset before every model; its datasets had no
# missing values, so the mean imputer below is a neutral placeholder that lets the spec accept NaN.
_PREPROCESSING = "Oboe standardised numeric features; mean imputer added (its data had no NaN)"


def _translate(algorithm: str, hp: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """Map an Oboe (scikit-learn 0.19) configuration to a modern spec and say what changed."""
    notes: list[str] = []
    hp = dict(hp)
    spec: dict[str, Any] = {"imputer": "mean", "scaler": "standard"}
    if algorithm == "AB":
        hp["learning_rate"] = float(hp["learning_rate"])
        spec.update(algorithm="adaboost", hyperparameters={**hp, "max_depth": 1})
        notes.append("AdaBoost 'SAMME.R' (0.19 default) was removed in scikit-learn 1.6: SAMME")
    elif algorithm in ("RF", "ExtraTrees"):
        name = "random_forest" if algorithm == "RF" else "extra_trees"
        spec.update(
            algorithm=name, hyperparameters={**hp, "n_estimators": 10, "max_features": "sqrt"}
        )
        notes.append("n_estimators=10 (0.19 default, now 100) kept; max_features 'auto' is 'sqrt'")
    elif algorithm == "DT":
        spec.update(algorithm="decision_tree", hyperparameters=hp)
    elif algorithm == "GBT":
        spec.update(algorithm="gradient_boosting", hyperparameters=hp)
    elif algorithm == "KNN":
        spec.update(algorithm="k_nearest_neighbors", hyperparameters=hp)
    elif algorithm == "lSVM":
        spec.update(algorithm="linear_svm", hyperparameters={**hp, "dual": True})
        notes.append("dual=True (0.19 default; now 'auto') set explicitly")
    elif algorithm == "kSVM":
        spec.update(algorithm="svm", hyperparameters={**hp, "gamma": "auto"})
        notes.append("gamma='auto' (0.19 default; now 'scale') set explicitly")
    elif algorithm == "Logit":
        penalty = hp.pop("penalty")
        spec.update(
            algorithm="logistic_regression",
            hyperparameters={**hp, "l1_ratio": 1.0 if penalty == "l1" else 0.0},
            one_vs_rest=True,
        )
        notes.append(
            f"penalty='{penalty}' -> l1_ratio (penalty deprecated in 1.8); multi_class='ovr' "
            "(0.19 default, removed in 1.7) -> OneVsRestClassifier"
        )
    elif algorithm == "Perceptron":
        spec.update(algorithm="perceptron", hyperparameters={"max_iter": 5, "tol": None})
        notes.append("0.19 ran 5 epochs without a stopping tolerance: max_iter=5, tol=None")
    elif algorithm == "GNB":
        spec.update(algorithm="gaussian_nb", hyperparameters=hp)
    elif algorithm == "MLP":
        spec.update(algorithm="mlp", hyperparameters=hp)
    else:
        raise ValueError(f"unknown Oboe algorithm {algorithm!r}")
    return spec, [*notes, _PREPROCESSING]


def load(root: Path) -> ImportResult:
    folder = root / FOLDER
    errors = pd.read_csv(folder / "error_matrix.csv", index_col=0)
    runtimes = pd.read_csv(folder / "runtime_matrix.csv", index_col=0)
    sizes = pd.read_csv(folder / "dataset_sizes.csv", index_col=0)
    # n_features there counts one-hot encoded columns, so only n_instances is kept.
    sizes.columns = ["n_instances", "n_features"]

    config_rows, column_ids = [], {}
    for header in errors.columns:
        original = ast.literal_eval(header)
        spec, notes = _translate(original["algorithm"], original["hyperparameters"])
        row = configuration_row(SOURCE, "classification", spec, original, notes)
        config_rows.append(row)
        column_ids[header] = row["configuration_id"]

    long = errors.rename(columns=column_ids).stack().rename("value").reset_index()
    long.columns = ["did", "configuration_id", "value"]
    rt = runtimes.rename(columns=column_ids).stack().rename("runtime_s").reset_index()
    rt.columns = ["did", "configuration_id", "runtime_s"]
    runs = long.merge(rt, on=["did", "configuration_id"], how="left")
    runs["dataset_key"] = "did:" + runs["did"].astype(str)
    runs = runs.assign(
        openml_task_id=pd.NA, metric="balanced_error_rate", higher_is_better=False, source=SOURCE
    ).drop(columns="did")

    dids = errors.index.astype(int)
    datasets = pd.DataFrame(
        {
            "dataset_key": ["did:" + str(d) for d in dids],
            "openml_did": dids,
            "task_type": "classification",
            "has_missing": False,
        }
    ).join(sizes.reindex(dids)[["n_instances"]].reset_index(drop=True))
    return ImportResult(
        source=SOURCE,
        provenance=f"{FOLDER}/PROVENANCE.txt",
        datasets=datasets,
        configurations=pd.DataFrame(config_rows),
        runs=runs,
    )
