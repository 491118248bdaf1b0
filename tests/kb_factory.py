"""A small, real knowledge base for tests: synthetic datasets, really profiled, with runs whose
ranking depends on the datasets' meta-features in a known way."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

import metafeatures
from metarec import pipelines
from metarec.kb import schema, store

CONFIGURATIONS = {
    "tree-shallow": {"algorithm": "decision_tree", "hyperparameters": {"max_depth": 2}},
    "tree-deep": {"algorithm": "decision_tree", "hyperparameters": {"max_depth": 12}},
    "knn-5": {"algorithm": "k_nearest_neighbors", "hyperparameters": {"n_neighbors": 5}},
    "logreg": {"algorithm": "logistic_regression", "hyperparameters": {"C": 1.0}},
    "forest": {"algorithm": "random_forest", "hyperparameters": {"n_estimators": 20}},
    "nb": {"algorithm": "gaussian_nb", "hyperparameters": {}},
}


def synthetic_dataset(
    n_rows: int, n_features: int, seed: int, missing: float = 0.0
) -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(
        rng.normal(size=(n_rows, n_features)), columns=[f"f{i}" for i in range(n_features)]
    )
    if n_features > 2:
        X["cat"] = pd.Categorical(rng.choice(["a", "b", "c"], n_rows))
    logits = X.iloc[:, 0] - 0.5 * X.iloc[:, 1 % n_features]
    y = pd.Series(
        pd.Categorical(np.where(logits + rng.normal(scale=0.5, size=n_rows) > 0, "p", "n"))
    )
    if missing:
        mask = rng.uniform(size=X.shape) < missing
        X = X.mask(mask)
    return X, y


def _performance(profile: pd.Series, config: str) -> float:
    """Balanced error rate that depends on size and width, so the best configuration varies."""
    n = profile["NumberOfInstances"]
    width = profile["NumberOfNumericFeatures"]
    base = {
        "tree-shallow": 0.30 - 0.0001 * n,
        "tree-deep": 0.35 - 0.0002 * n,
        "knn-5": 0.20 + 0.02 * width,
        "logreg": 0.18 + 0.004 * width,
        "forest": 0.22 - 0.00005 * n,
        "nb": 0.25,
    }[config]
    return float(np.clip(base, 0.01, 0.99))


def make_kb(out: Path, n_datasets: int = 30) -> Path:
    """Write a knowledge base of ``n_datasets`` profiled classification datasets to ``out``."""
    datasets, mf_rows, run_rows = [], [], []
    for i in range(n_datasets):
        n_rows = 60 + 40 * (i % 10)
        n_features = 2 + (i * 7) % 15
        X, y = synthetic_dataset(n_rows, n_features, seed=i, missing=0.05 * (i % 3 == 0))
        profile = metafeatures.extract(X, y, groups=["simple", "statistical", "info-theory"])
        dataset_id = f"synthetic-{i}"
        datasets.append(
            {
                "dataset_id": dataset_id,
                "name": f"synthetic {i}",
                "source": "test",
                "openml_did": pd.NA,
                "openml_task_id": pd.NA,
                "task_type": "classification",
                "n_instances": n_rows,
                "n_features": X.shape[1],
                "n_classes": 2,
                "has_missing": bool(X.isna().any().any()),
                "id_mapping": "",
            }
        )
        mf_rows += [
            {
                "dataset_id": dataset_id,
                "quality": q,
                "value": v,
                "origin": "local",
                "source": "test",
            }
            for q, v in profile.items()
        ]
        run_rows += [
            {
                "dataset_id": dataset_id,
                "openml_task_id": pd.NA,
                "configuration_id": config,
                "metric": "balanced_error_rate",
                "value": _performance(profile, config),
                "higher_is_better": False,
                "runtime_s": np.nan,
                "source": "test",
            }
            for config in CONFIGURATIONS
        ]
    config_rows = []
    for config, raw in CONFIGURATIONS.items():
        spec = pipelines.normalize_spec({"task": "classification", "imputer": "median", **raw})
        config_rows.append(
            {
                "configuration_id": config,
                "source": "test",
                "task_type": "classification",
                "algorithm": raw["algorithm"],
                "imputer": "median",
                "hyperparameters": json.dumps(raw["hyperparameters"]),
                "original": json.dumps(raw),
                "translation": "",
                "spec": json.dumps(spec),
            }
        )
    tables = {
        "datasets": pd.DataFrame(datasets),
        "metafeatures": pd.DataFrame(mf_rows),
        "configurations": pd.DataFrame(config_rows),
        "runs": pd.DataFrame(run_rows),
    }
    manifest = {
        "format": store.FORMAT,
        "kb_version": schema.KB_VERSION,
        "build_date": "test",
        "sources": {"test": {"provenance": "synthetic datasets made by tests/kb_factory.py"}},
    }
    store.write(tables, manifest, out)
    return out
