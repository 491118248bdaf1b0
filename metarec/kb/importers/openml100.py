"""Random-search runs of scikit-learn pipelines on the OpenML100 tasks, as uploaded to OpenML.

Random forest and AdaBoost come from openml-pimp (KDD 2018), SVC from sklearn-bot; in all three
the numeric imputation strategy is one of the varied hyperparameters. Rows are runs keyed by OpenML
task id; ``task_qualities.json`` holds OpenML's stored qualities of each task's dataset.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from metarec.kb.importers._common import ImportResult, configuration_row, read_arff_frame

SOURCE = "openml100"
FOLDER = "runs/openml100_sklearn_hpo"
IMPUTER_COLUMN = "columntransformer__numeric__imputer__strategy"
METRICS = ("predictive_accuracy", "area_under_roc_curve", "f_measure")
FILES = {
    "random_forest": ["openml-pimp_KDD2018/random_forest.arff"],
    "adaboost": ["openml-pimp_KDD2018/adaboost.arff"],
    "svm": [f"sklearn-bot/svc__{metric}.arff" for metric in METRICS],
}
_NOMINAL = "nominal columns: most-frequent imputation + one-hot (the flows' column transformer)"


def _literal(value: Any) -> Any:
    # ARFF nominal values arrive as strings ("True", "None", "18"); keep words like "gini" as text.
    if isinstance(value, str):
        try:
            return ast.literal_eval(value)
        except (ValueError, SyntaxError):
            return value
    if isinstance(value, float) and value.is_integer():
        return value
    return value


def _original(row: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for key, value in row.items():
        if value is None or (isinstance(value, float) and np.isnan(value)):
            continue  # '?' = not applicable to this kernel
        out[key] = _literal(value)
    return out


def _translate(family: str, original: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    prefix = {"random_forest": "randomforestclassifier__", "adaboost": "adaboostclassifier__",
              "svm": "svc__"}[family]
    hp = {k[len(prefix):]: v for k, v in original.items() if k.startswith(prefix)}
    notes = [_NOMINAL]
    spec: dict[str, Any] = {"algorithm": family, "imputer": original[IMPUTER_COLUMN]}
    if family == "adaboost":
        algorithm = hp.pop("algorithm")
        hp["max_depth"] = int(hp.pop("base_estimator__max_depth"))
        hp["n_estimators"] = int(hp["n_estimators"])
        if algorithm == "SAMME.R":
            notes.append("algorithm 'SAMME.R' was removed in scikit-learn 1.6: SAMME")
        notes.append("base_estimator__max_depth -> max_depth of the boosted tree (estimator)")
        spec["scaler"] = "none"
    elif family == "random_forest":
        for key in ("min_samples_leaf", "min_samples_split", "n_estimators"):
            hp[key] = int(hp[key])
        spec["scaler"] = "none"
    else:
        if "degree" in hp:
            hp["degree"] = int(hp["degree"])
        hp["max_iter"] = int(hp["max_iter"])
        spec["scaler"] = "standard"
        notes.append("numeric features standardised (assumed; the run files do not state "
                     "sklearn-bot's SVC preprocessing)")
    spec["hyperparameters"] = hp
    return spec, notes


def _read_family(root: Path, family: str) -> pd.DataFrame:
    frames = []
    for rel in FILES[family]:
        frame = read_arff_frame(root / FOLDER / rel)
        metric = next(m for m in METRICS if m in frame.columns)
        frame = frame.rename(columns={metric: "value"}).assign(metric=metric)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def load(root: Path) -> ImportResult:
    config_rows: dict[str, dict[str, Any]] = {}
    run_frames = []
    for family in FILES:
        frame = _read_family(root, family)
        hp_columns = [c for c in frame.columns if c not in ("value", "metric", "task_id")]
        # Same configuration text -> same id; translate each distinct one once.
        keys = pd.Series(
            ["|".join(map(repr, row)) for row in frame[hp_columns].itertuples(index=False)]
        )
        ids = {}
        for key, row in zip(keys, frame[hp_columns].to_dict("records"), strict=True):
            if key in ids:
                continue
            original = {"flow_family": family, **_original(row)}
            spec, notes = _translate(family, original)
            config = configuration_row(SOURCE, "classification", spec, original, notes)
            config_rows[config["configuration_id"]] = config
            ids[key] = config["configuration_id"]
        run_frames.append(
            pd.DataFrame(
                {
                    "dataset_key": "task:" + frame["task_id"].astype(int).astype(str),
                    "openml_task_id": frame["task_id"].astype(int),
                    "configuration_id": keys.map(ids),
                    "metric": frame["metric"],
                    "value": frame["value"].astype(float),
                    "higher_is_better": True,
                    "runtime_s": np.nan,
                    "source": SOURCE,
                }
            )
        )
    runs = pd.concat(run_frames, ignore_index=True)
    runs, notes = _drop_runs_that_did_not_learn(runs, config_rows)
    used = set(runs["configuration_id"])
    config_rows = {k: v for k, v in config_rows.items() if k in used}

    with open(root / FOLDER / "openml-pimp_KDD2018/task_qualities.json", encoding="utf-8") as fh:
        qualities = json.load(fh)
    mf = pd.DataFrame(
        [(f"task:{tid}", q, v) for tid, qs in qualities.items() for q, v in qs.items()],
        columns=["dataset_key", "quality", "value"],
    ).assign(origin="openml", source=SOURCE)
    mf["value"] = pd.to_numeric(mf["value"], errors="coerce")
    wide = mf.pivot(index="dataset_key", columns="quality", values="value")
    task_ids = sorted(set(runs["openml_task_id"]) | {int(t) for t in qualities})
    keys = [f"task:{t}" for t in task_ids]
    wide = wide.reindex(keys)

    def col(name: str) -> Any:
        return wide[name].to_numpy() if name in wide else np.nan

    datasets = pd.DataFrame(
        {
            "dataset_key": keys,
            "openml_task_id": task_ids,
            "task_type": "classification",
            "n_instances": col("NumberOfInstances"),
            "n_features": col("NumberOfFeatures"),
            "n_classes": col("NumberOfClasses"),
            "has_missing": pd.Series(col("NumberOfMissingValues")) > 0,
        }
    )
    return ImportResult(
        source=SOURCE,
        provenance=f"{FOLDER}/PROVENANCE.txt",
        datasets=datasets,
        configurations=pd.DataFrame(list(config_rows.values())),
        runs=runs,
        metafeatures=mf.dropna(subset=["value"]),
        notes=notes,
    )


def _drop_runs_that_did_not_learn(
    runs: pd.DataFrame, configs: dict[str, dict[str, Any]]
) -> tuple[pd.DataFrame, list[str]]:
    """Leave out task x family x metric groups where every configuration scored the same.

    On many tasks every one of sklearn-bot's SVC runs (rbf, poly and sigmoid kernels, C over
    orders of magnitude) has the identical accuracy, equal to the majority-class share where we
    checked (wdbc, ilpd), and AUC 0.5: those uploads did not learn, and re-running the same
    configurations here learns. Such values would teach the meta-learner that SVC fails there.
    A constant perfect score (a forest at accuracy 1.0 on an easy task) is kept: it is a ceiling.
    """
    family = runs["configuration_id"].map(lambda c: configs[c]["algorithm"])
    keys = [family, runs["openml_task_id"], runs["metric"]]
    grouped = runs.groupby(keys)["value"]
    constant = (grouped.transform("nunique") == 1) & (grouped.transform("size") >= 5)
    dropped = runs[constant & (runs["value"] < 1.0)]
    notes = []
    if len(dropped):
        per = dropped.assign(family=family[dropped.index]).groupby(["family", "metric"])
        detail = ", ".join(f"{fam} {metric}: {len(g):,} runs on {g['openml_task_id'].nunique()} "
                           "tasks" for (fam, metric), g in per)
        notes.append("left out task groups in which every configuration scored the identical, "
                     f"non-perfect value (the uploaded runs did not learn): {detail}")
    return runs.drop(index=dropped.index).reset_index(drop=True), notes
