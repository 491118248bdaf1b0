"""OpenML's stored data qualities (2019 snapshot) for ~2,800 OpenML datasets, keyed by dataset id.

A reference source: it adds meta-features (origin ``openml``) and dataset identities (name,
version, size) to datasets that other sources bring; it adds no datasets of its own.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from metarec.kb.importers._common import ImportResult

SOURCE = "openml_qualities"
FOLDER = "metafeatures/openml_qualities"
ALL = "original_with_ids_all_metafeatures.csv"
# The subset auto-sklearn's paper used: its name -> id pairs win when a name has several versions.
AUTOSKLEARN_SUBSET = "autosklearn_with_ids_all_metafeatures.csv"
_NAME_VERSION = re.compile(r"^(?P<name>.*) \((?P<version>\d+)\)$")


def load(root: Path) -> ImportResult:
    folder = root / FOLDER
    table = pd.read_csv(folder / ALL)
    preferred = set(pd.read_csv(folder / AUTOSKLEARN_SUBSET, usecols=["Id"])["Id"])
    parts = table["Name"].str.extract(_NAME_VERSION)
    datasets = pd.DataFrame(
        {
            "dataset_key": "did:" + table["Id"].astype(str),
            "name": parts["name"].fillna(table["Name"]),
            "version": pd.to_numeric(parts["version"]).astype("Int64"),
            "openml_did": table["Id"].astype(int),
            "n_instances": table["NumberOfInstances"],
            "n_features": table["NumberOfFeatures"],
            "n_classes": table["NumberOfClasses"],
            "has_missing": table["NumberOfMissingValues"] > 0,
            "preferred": table["Id"].isin(preferred),
        }
    )
    qualities = table.drop(columns=["Name", "Runs"]).rename(columns={"Id": "did"})
    mf = (
        qualities.melt(id_vars="did", var_name="quality", value_name="value")
        .dropna(subset=["value"])
        .assign(origin="openml", source=SOURCE)
    )
    mf["dataset_key"] = "did:" + mf.pop("did").astype(str)
    return ImportResult(
        source=SOURCE,
        provenance=f"{FOLDER}/PROVENANCE.txt",
        datasets=datasets,
        metafeatures=mf,
        reference_only=True,
    )
