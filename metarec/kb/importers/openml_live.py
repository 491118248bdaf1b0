"""Runs fetched from the OpenML REST API (``metarec kb refresh --openml``).

``frames_from_evaluations`` turns the DataFrame that ``openml.evaluations.list_evaluations_setups``
returns (one row per run: ids, metric value, and the setup's parameters as ``{full_name: value}``)
into KB rows. Parameter full names look like ``sklearn.ensemble.forest.RandomForestClassifier(22)
_max_features`` and values are JSON text; only parameters the modern estimator still accepts are
kept, and everything dropped is listed in the configuration's ``translation``.
"""

from __future__ import annotations

import inspect
import json
import re
from typing import Any

import numpy as np
import pandas as pd

from metarec import pipelines
from metarec.kb import schema
from metarec.kb.importers._common import configuration_row

SOURCE = "openml"
DEFAULT_FLOWS = (6969, 6970, 8784)  # the OpenML100 random-search flows (RF, AdaBoost, SVC)
_FULL_NAME = re.compile(r"^(?P<flow>[\w.]+)\((?P<version>\d+)\)_(?P<param>\w+)$")
# Estimator class name -> KB algorithm; meta-estimators first, so that AdaBoost wins over its tree.
ESTIMATORS = {
    "AdaBoostClassifier": "adaboost",
    "RandomForestClassifier": "random_forest",
    "ExtraTreesClassifier": "extra_trees",
    "GradientBoostingClassifier": "gradient_boosting",
    "HistGradientBoostingClassifier": "hist_gradient_boosting",
    "SVC": "svm",
    "LinearSVC": "linear_svm",
    "LogisticRegression": "logistic_regression",
    "KNeighborsClassifier": "k_nearest_neighbors",
    "MLPClassifier": "mlp",
    "GaussianNB": "gaussian_nb",
    "LGBMClassifier": "lightgbm",
    "DecisionTreeClassifier": "decision_tree",
}
IMPUTER_CLASSES = ("SimpleImputer", "Imputer")
HIGHER_IS_BETTER = {"predictive_accuracy": True, "area_under_roc_curve": True,
                    "f_measure": True, "kappa": True, "mean_absolute_error": False,
                    "root_mean_squared_error": False}


def _value(text: Any) -> Any:
    if not isinstance(text, str):
        return text
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def _components(parameters: dict[str, Any]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for full_name, raw in sorted(parameters.items()):
        match = _FULL_NAME.match(full_name)
        if match:
            cls = match["flow"].rsplit(".", 1)[-1]
            out.setdefault(cls, {})[match["param"]] = _value(raw)
    return out


def translate(parameters: dict[str, Any]) -> tuple[dict[str, Any], list[str]] | None:
    """Spec and notes for one OpenML setup; None when its estimator is not one we can build."""
    components = _components(parameters)
    name = next((cls for cls in ESTIMATORS if cls in components), None)
    if name is None:
        return None
    algorithm = ESTIMATORS[name]
    cls = pipelines._resolve(pipelines.ALGORITHMS[algorithm].classification)
    accepted = set(inspect.signature(cls.__init__).parameters) - {"self"}
    given = components[name]
    hp = {k: v for k, v in given.items() if k in accepted and v is not None
          and not (isinstance(v, dict) and "oml-python:serialized_object" in v)}
    dropped = sorted(set(given) - set(hp))
    notes = []
    if algorithm == "adaboost":
        hp.pop("algorithm", None)
        depth = components.get("DecisionTreeClassifier", {}).get("max_depth")
        if depth is not None:
            hp["max_depth"] = depth
            notes.append("base tree max_depth -> max_depth of the boosted tree")
    if dropped:
        notes.append(f"dropped (absent from the modern estimator or unset): {', '.join(dropped)}")
    imputer = "median"
    for imp in IMPUTER_CLASSES:
        strategy = components.get(imp, {}).get("strategy")
        if strategy in pipelines.IMPUTERS:
            imputer = strategy
            break
    else:
        notes.append("no imputer in the flow: median imputation added")
    scaler = "standard" if "StandardScaler" in components else "none"
    return {"algorithm": algorithm, "hyperparameters": hp, "imputer": imputer,
            "scaler": scaler}, notes


def frames_from_evaluations(evals: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """KB rows (datasets, configurations, runs) from a list_evaluations_setups DataFrame."""
    config_rows: dict[str, dict[str, Any]] = {}
    run_rows, skipped = [], 0
    for row in evals.sort_values("run_id").to_dict("records"):
        parameters = row.get("parameters") or {}
        translated = translate(parameters)
        if translated is None:
            skipped += 1
            continue
        spec, notes = translated
        original = {"flow_id": int(row["flow_id"]), "flow_name": row["flow_name"],
                    "parameters": {k: parameters[k] for k in sorted(parameters)}}
        config = configuration_row(SOURCE, "classification", spec, original, notes)
        config_rows.setdefault(config["configuration_id"], config)
        run_rows.append({
            "dataset_id": f"openml-{int(row['data_id'])}",
            "openml_task_id": int(row["task_id"]),
            "configuration_id": config["configuration_id"],
            "metric": row["function"],
            "value": float(row["value"]) if row["value"] is not None else np.nan,
            "higher_is_better": HIGHER_IS_BETTER.get(row["function"], True),
            "runtime_s": np.nan,
            "source": SOURCE,
            "openml_run_id": int(row["run_id"]),
        })
    runs = pd.DataFrame(run_rows, columns=list(schema.TABLES["runs"]))
    datasets = (evals.drop_duplicates("data_id")[["data_id", "data_name", "task_id"]]
                if len(evals) else pd.DataFrame(columns=["data_id", "data_name", "task_id"]))
    datasets = pd.DataFrame({
        "dataset_id": "openml-" + datasets["data_id"].astype(int).astype(str),
        "name": datasets["data_name"].astype(str),
        "source": SOURCE,
        "openml_did": datasets["data_id"].astype(int),
        "openml_task_id": datasets["task_id"].astype(int),
        "task_type": "classification",
        "n_instances": pd.NA, "n_features": pd.NA, "n_classes": pd.NA, "has_missing": pd.NA,
        "id_mapping": "dataset id stated by OpenML",
    })
    configurations = pd.DataFrame(list(config_rows.values()),
                                  columns=list(schema.TABLES["configurations"]))
    return {"datasets": datasets, "configurations": configurations,
            "runs": runs, "skipped": pd.DataFrame({"unsupported_runs": [skipped]})}
