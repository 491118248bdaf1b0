"""The project's own imputation run campaign (``bench/imputation_campaign.py``), source ``local``.

Unlike the other importers this one reads from the repository, not the shared data folder: the
campaign's consolidated tables live in ``knowledge_base/imputation/`` (override the folder with
``METAREC_IMPUTATION_CAMPAIGN``). Every campaign dataset is a derived table (rows subsampled,
features capped, missing values injected), so it is never merged with the OpenML dataset it came
from; its KB name is the campaign id, which spells the origin, mechanism, rate and seed
(``injected:pmlb/iris:mar:0.20:s1000``). The full injection record stays in the campaign's own
``datasets.parquet``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd

from metarec.kb.importers._common import ImportResult, configuration_row

SOURCE = "local"
DEFAULT_DIR = Path(__file__).resolve().parents[3] / "knowledge_base" / "imputation"


def campaign_dir() -> Path:
    return Path(os.environ.get("METAREC_IMPUTATION_CAMPAIGN", DEFAULT_DIR))


def load(root: Path) -> ImportResult:  # noqa: ARG001 - the campaign lives in the repository
    folder = campaign_dir()
    empty = ImportResult(source=SOURCE, provenance="", datasets=pd.DataFrame(
        columns=["dataset_key", "name", "task_type"]))
    if not (folder / "runs.parquet").exists():
        return empty
    datasets = pd.read_parquet(folder / "datasets.parquet")
    datasets = datasets[datasets["skipped"].fillna("") == ""]
    runs = pd.read_parquet(folder / "runs.parquet")
    runs = runs[runs["dataset_id"].isin(datasets["dataset_id"]) & runs["value"].notna()]
    mf = pd.read_parquet(folder / "metafeatures.parquet")
    with open(folder / "configurations.json", encoding="utf-8") as handle:
        configs = json.load(handle)

    config_rows, ids = [], {}
    for key, cfg in sorted(configs.items()):
        original = {"campaign": "imputation", "family": cfg["family"], "imputer": cfg["imputer"],
                    "spec": cfg["spec"]}
        row = configuration_row(SOURCE, cfg["task_type"], cfg["spec"], original, [])
        config_rows.append(row)
        ids[key] = row["configuration_id"]
    task_of = datasets.set_index("dataset_id")["task_type"]
    keys = runs["configuration_id"] + ":" + runs["dataset_id"].map(task_of)
    frame = pd.DataFrame({
        "dataset_key": "campaign:" + runs["dataset_id"],
        "openml_task_id": pd.array([pd.NA] * len(runs), dtype="Int64"),
        "configuration_id": keys.map(ids),
        "metric": runs["metric"],
        "value": runs["value"].astype(float),
        "higher_is_better": True,
        "runtime_s": runs["runtime_s"].astype(float),
        "source": SOURCE,
    })
    ds = pd.DataFrame({
        "dataset_key": "campaign:" + datasets["dataset_id"],
        "name": datasets["dataset_id"],
        "openml_did": np.nan,  # derived tables: never merged with their OpenML original
        "openml_task_id": np.nan,
        "task_type": datasets["task_type"],
        "n_instances": datasets["n_rows"],
        "n_features": datasets["n_features"],
        "n_classes": datasets["n_classes"],
        "has_missing": True,
    })
    metafeatures = mf[mf["dataset_id"].isin(datasets["dataset_id"])].dropna(subset=["value"])
    metafeatures = pd.DataFrame({
        "dataset_key": "campaign:" + metafeatures["dataset_id"],
        "quality": metafeatures["quality"], "value": metafeatures["value"].astype(float),
        "origin": "local", "source": SOURCE,
    })
    return ImportResult(source=SOURCE, provenance="", datasets=ds,
                        configurations=pd.DataFrame(config_rows), runs=frame,
                        metafeatures=metafeatures)
