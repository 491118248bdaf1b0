"""Table definitions of the knowledge base and their validation.

The knowledge base is four Parquet tables plus ``manifest.json``. Columns and their pandas dtypes
are declared here once, so the importers, the builder and the loader agree on them. Bump
``KB_VERSION`` whenever a column is added, removed or changes meaning: a KB of another version is
refused on load rather than misread.
"""

from __future__ import annotations

import pandas as pd

from metarec.errors import KnowledgeBaseError

KB_VERSION = 1
MANIFEST = "manifest.json"

# Each table: column -> pandas dtype. Every table has a `source` column (which importer wrote it).
TABLES: dict[str, dict[str, str]] = {
    "datasets": {
        "dataset_id": "string",  # "openml-<did>", else "task-<tid>", else "name-<name>"
        "name": "string",
        "source": "string",  # comma-separated sources with runs or qualities for this dataset
        "openml_did": "Int64",
        "openml_task_id": "Int64",
        "task_type": "string",  # classification | regression
        "n_instances": "Int64",
        "n_features": "Int64",
        "n_classes": "Int64",
        "has_missing": "boolean",
        "id_mapping": "string",  # how the OpenML dataset id was established
    },
    "metafeatures": {
        "dataset_id": "string",
        "quality": "string",
        "value": "float64",
        # openml (stored by OpenML) | autosklearn | local (computed by metafeatures.extract)
        "origin": "string",
        "source": "string",
    },
    "configurations": {
        "configuration_id": "string",
        "source": "string",
        "task_type": "string",
        "algorithm": "string",  # key of metarec.pipelines.ALGORITHMS
        "imputer": "string",  # key of metarec.pipelines.IMPUTERS
        "hyperparameters": "string",  # JSON: modern estimator parameters
        "original": "string",  # JSON: the configuration as the source states it
        "translation": "string",  # how `original` became `spec`; empty when exact
        "spec": "string",  # JSON: normalised spec for metarec.pipelines.build
    },
    "runs": {
        "dataset_id": "string",
        "openml_task_id": "Int64",
        "configuration_id": "string",
        "metric": "string",
        "value": "float64",
        "higher_is_better": "bool",
        "runtime_s": "float64",
        "source": "string",
        "openml_run_id": "Int64",  # set for runs fetched from OpenML (refresh is incremental)
    },
}
# Columns an older writer may not provide; they are filled with missing values.
OPTIONAL: dict[str, set[str]] = {"runs": {"openml_run_id"}}

# Sort keys make the build deterministic whatever order the importers produce rows in.
SORT_KEYS: dict[str, list[str]] = {
    "datasets": ["dataset_id"],
    "metafeatures": ["dataset_id", "origin", "quality"],
    "configurations": ["configuration_id"],
    "runs": ["source", "dataset_id", "configuration_id", "metric"],
}


def empty(table: str) -> pd.DataFrame:
    return pd.DataFrame({col: pd.Series(dtype=dt) for col, dt in TABLES[table].items()})


def conform(table: str, frame: pd.DataFrame) -> pd.DataFrame:
    """Return ``frame`` with exactly the declared columns, in order, with the declared dtypes."""
    columns = TABLES[table]
    frame = frame.assign(**{c: pd.NA for c in OPTIONAL.get(table, ()) if c not in frame.columns})
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise KnowledgeBaseError(
            f"the knowledge-base table {table!r} lacks column(s) {', '.join(missing)}; "
            "rebuild it with `metarec kb build`."
        )
    out = frame.loc[:, list(columns)].copy()
    for col, dtype in columns.items():
        if str(out[col].dtype) != dtype:
            out[col] = out[col].astype(dtype)
    return out


def sort(table: str, frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sort_values(SORT_KEYS[table], kind="mergesort").reset_index(drop=True)
