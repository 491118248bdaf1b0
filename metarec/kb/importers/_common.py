"""Helpers shared by the importers: the result container and configuration rows."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from metarec import pipelines
from metarec.jsonable import to_jsonable

# Columns an importer's `datasets` frame may carry; `dataset_key` is the importer's own key that its
# runs and metafeatures refer to, and build.py resolves it to a KB dataset_id.
DATASET_COLUMNS = [
    "dataset_key",
    "name",
    "openml_did",
    "openml_task_id",
    "task_type",
    "n_instances",
    "n_features",
    "n_classes",
    "has_missing",
]


@dataclass
class ImportResult:
    source: str
    provenance: str | list[str]  # PROVENANCE.txt path(s) relative to the data root
    datasets: pd.DataFrame
    configurations: pd.DataFrame = field(default_factory=pd.DataFrame)
    runs: pd.DataFrame = field(default_factory=pd.DataFrame)  # dataset_key instead of dataset_id
    metafeatures: pd.DataFrame = field(default_factory=pd.DataFrame)  # dataset_key, quality, ...
    task_map: pd.DataFrame = field(default_factory=pd.DataFrame)  # openml_task_id, openml_did
    # A reference source (OpenML's qualities) adds meta-features and identities, never datasets.
    reference_only: bool = False
    notes: list[str] = field(default_factory=list)  # what the importer left out, and why
    # The provenance itself, for a source whose files are not under the data root (a campaign).
    provenance_text: str | None = None


def canonical_json(value: Any) -> str:
    return json.dumps(to_jsonable(value), sort_keys=True, separators=(",", ":"),
                      allow_nan=False)


def configuration_row(
    source: str,
    task_type: str,
    spec: dict[str, Any],
    original: dict[str, Any],
    translation: list[str],
) -> dict[str, Any]:
    """One row of the configurations table; the id is a hash of what the source states."""
    spec = pipelines.normalize_spec({"task": task_type, **spec})
    digest = hashlib.sha1(
        canonical_json({"task": task_type, "original": original}).encode()
    ).hexdigest()[:12]
    return {
        "configuration_id": f"{source}-{digest}",
        "source": source,
        "task_type": task_type,
        "algorithm": spec["algorithm"],
        "imputer": spec["imputer"]["name"],
        "hyperparameters": canonical_json(spec["hyperparameters"]),
        "original": canonical_json(original),
        "translation": "; ".join(translation),
        "spec": canonical_json(spec),
    }


def read_arff_frame(path: Path) -> pd.DataFrame:
    """Read a (dense) ARFF file with liac-arff; '?' becomes NaN."""
    import arff

    with open(path, encoding="utf-8") as handle:
        data = arff.load(handle)
    columns = [name for name, _ in data["attributes"]]
    return pd.DataFrame(data["data"], columns=columns)
