"""TabRepo (2023): 104 AutoGluon LightGBM configurations evaluated on ~90 OpenML tasks.

Results are keyed by OpenML task id; TabRepo's task metadata maps task ids to dataset ids (shared
with the other importers through ``task_map``) and carries OpenML's simple qualities.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from metarec.kb.importers._common import ImportResult, configuration_row

SOURCE = "tabrepo"
FOLDER = "runs/tabrepo_early"
RESULTS = "data/results/lightgbm/results_ranked_by_dataset_valid.csv"
CONFIGS = "data/configs/configs_20221004/configs_lightgbm.json"
METADATA = ["task_metadata.csv", "task_metadata_244.csv", "task_metadata_289.csv"]
# TabRepo states each task's error in the task's own metric (lower is better).
METRIC = {"binary": "roc_auc_loss", "multiclass": "log_loss", "regression": "rmse"}
QUALITIES = [
    "MajorityClassSize", "MaxNominalAttDistinctValues", "MinorityClassSize", "NumberOfClasses",
    "NumberOfFeatures", "NumberOfInstances", "NumberOfInstancesWithMissingValues",
    "NumberOfMissingValues", "NumberOfNumericFeatures", "NumberOfSymbolicFeatures",
]
# AutoGluon's LightGBM defaults that its configurations leave implicit.
AUTOGLUON_DEFAULTS = {"learning_rate": 0.05}
N_ESTIMATORS = 500
RENAMES = {"feature_fraction": "colsample_bytree", "min_data_in_leaf": "min_child_samples"}


def _translate(hp: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    hp = {k: v for k, v in hp.items() if k != "ag_args"}
    modern = {**AUTOGLUON_DEFAULTS, **{RENAMES.get(k, k): v for k, v in hp.items()}}
    modern["n_estimators"] = N_ESTIMATORS
    if "colsample_bytree" in modern:
        modern["colsample_bytree"] = float(modern["colsample_bytree"])
    notes = [
        "LightGBM aliases -> scikit-learn API names (feature_fraction=colsample_bytree, "
        "min_data_in_leaf=min_child_samples); AutoGluon's default learning_rate 0.05 made explicit",
        f"AutoGluon boosts up to 10,000 rounds with early stopping on a holdout; "
        f"fixed n_estimators={N_ESTIMATORS} here",
        "missing values and categories left to LightGBM (native), as AutoGluon does",
    ]
    spec = {"algorithm": "lightgbm", "imputer": "native", "scaler": "none",
            "hyperparameters": modern}
    return spec, notes


def load(root: Path) -> ImportResult:
    folder = root / FOLDER
    results = pd.read_csv(folder / RESULTS)
    with open(folder / CONFIGS, encoding="utf-8") as handle:
        configs = json.load(handle)
    meta = pd.concat(
        [pd.read_csv(folder / "data/metadata" / name) for name in METADATA], ignore_index=True
    ).drop_duplicates("tid").sort_values("tid")

    task_type = {"binary": "classification", "multiclass": "classification",
                 "regression": "regression"}
    config_rows, ids = [], {}
    for (name, problem), _ in results.groupby(["framework", "problem_type"]):
        kind = task_type[problem]
        if (name, kind) in ids:
            continue
        spec, notes = _translate(configs[name]["hyperparameters"])
        original = {"name": name, **configs[name]}
        row = configuration_row(SOURCE, kind, spec, original, notes)
        config_rows.append(row)
        ids[(name, kind)] = row["configuration_id"]

    runs = pd.DataFrame(
        {
            "dataset_key": "task:" + results["dataset"].astype(str),
            "openml_task_id": results["dataset"].astype(int),
            "configuration_id": [
                ids[(n, task_type[p])] for n, p in zip(results["framework"],
                                                       results["problem_type"], strict=True)
            ],
            "metric": results["problem_type"].map(METRIC),
            "value": results["metric_error"].astype(float),
            "higher_is_better": False,
            "runtime_s": results["time_train_s"].astype(float),
            "source": SOURCE,
        }
    )
    problems = results.drop_duplicates("dataset").set_index("dataset")["problem_type"]
    meta_by_tid = meta.set_index("tid")
    tids = sorted(problems.index.astype(int))
    info = meta_by_tid.reindex(tids)
    datasets = pd.DataFrame(
        {
            "dataset_key": [f"task:{t}" for t in tids],
            "name": info["name"].to_numpy(),
            "openml_did": info["did"].to_numpy(),
            "openml_task_id": tids,
            "task_type": [task_type[problems[t]] for t in tids],
            "n_instances": info["NumberOfInstances"].to_numpy(),
            "n_features": info["NumberOfFeatures"].to_numpy(),
            "n_classes": info["NumberOfClasses"].to_numpy(),
            "has_missing": (info["NumberOfMissingValues"] > 0).to_numpy(),
        }
    )
    mf = (
        info[QUALITIES]
        .set_axis([f"task:{t}" for t in tids])
        .rename_axis("dataset_key")
        .reset_index()
        .melt(id_vars="dataset_key", var_name="quality", value_name="value")
        .dropna(subset=["value"])
        .assign(origin="openml", source=SOURCE)
    )
    task_map = meta[["tid", "did"]].rename(columns={"tid": "openml_task_id", "did": "openml_did"})
    return ImportResult(
        source=SOURCE,
        provenance=f"{FOLDER}/PROVENANCE.txt",
        datasets=datasets,
        configurations=pd.DataFrame(config_rows),
        runs=runs,
        metafeatures=mf,
        task_map=task_map.astype({"openml_task_id": int, "openml_did": int}).assign(
            name=meta["name"].to_numpy()
        ),
    )


