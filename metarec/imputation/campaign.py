"""The imputation campaign's tables -> the labels and the fitted selector; the shipped model.

The campaign (``bench/imputation_campaign.py``) lives in ``<knowledge base>/imputation/``, so a
knowledge base chosen with METAREC_KB brings its own imputer model.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from metarec.imputation.selector import (
    MODELS,
    NATIVE_FAMILIES,
    TOLERANCE,
    ImputationError,
    ImputerSelector,
    estimator_family,
    family_columns,
)
from metarec.jsonable import to_jsonable

MODEL_FILE = "model.json"


def campaign_dir() -> Path:
    """``imputation/`` of the knowledge base in use (METAREC_KB, else the shipped one)."""
    from metarec.kb import default_path

    return default_path() / "imputation"




def soft_hit_table(fold_scores: pd.DataFrame, performance: pd.DataFrame,
                   tolerance: float = TOLERANCE, n_boot: int = 200,
                   seed: int = 0) -> pd.DataFrame:
    """Probability of being within tolerance of the best when the CV folds are resampled.

    ``fold_scores`` has columns dataset_id, config and folds (a list of per-fold scores, folds
    shared by all configurations of a dataset). The hard label says which imputer won this one
    CV; on small data that is largely luck, and the bootstrap over folds says how much.
    """
    rng = np.random.default_rng(seed)
    out = pd.DataFrame(np.nan, index=performance.index, columns=performance.columns)
    by_dataset = {d: g for d, g in fold_scores.groupby("dataset_id")}
    for dataset in performance.index:
        rows = by_dataset.get(dataset)
        if rows is None:
            continue
        scores = dict(zip(rows["config"], rows["folds"], strict=True))
        for _family, cols in family_columns(performance.columns).items():
            have = [c for c in cols if c in scores and scores[c] is not None]
            mats = [np.asarray(scores[c], dtype=float) for c in have]
            if not mats or len({len(m) for m in mats}) != 1:
                continue
            folds = np.vstack(mats)  # configurations x folds
            pick = rng.integers(0, folds.shape[1], (n_boot, folds.shape[1]))
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                means = np.stack([folds[:, p].mean(axis=1) for p in pick])  # boot x configs
                best = np.nanmax(means, axis=1, keepdims=True)
            hit = np.where(np.isnan(means), 0.0, means >= best - tolerance - 1e-12)
            out.loc[dataset, have] = hit.mean(axis=0)
    return out


def campaign_soft_labels(kb_dir: str | Path, performance: pd.DataFrame) -> pd.DataFrame:
    """:func:`soft_hit_table` from the campaign's per-fold scores."""
    runs = pd.read_parquet(Path(kb_dir) / "runs.parquet")
    folds = pd.DataFrame({
        "dataset_id": runs["dataset_id"],
        "config": runs["family"] + ":" + runs["imputer"],
        "folds": [None if f is None else [np.nan if v is None else v for v in json.loads(f)]
                  for f in runs["fold_values"]],
    })
    return soft_hit_table(folds, performance)


def dataset_groups(datasets: pd.DataFrame) -> pd.Series:
    """Group campaign datasets that share their data, for leave-group-out validation.

    Injected variants of one origin share it, and so do many classic tables under two names
    (colic / colic.orig, heart-h / hungarian, PMLB's cleveland / Weka's heart-c, ...). The row
    count of the original table is a conservative proxy for "same data": unrelated tables that
    happen to share it are only held out together, which makes validation stricter, not leakier.
    """
    rows = pd.to_numeric(datasets["n_rows_original"], errors="coerce")
    key = np.where(rows.notna(), "rows:" + rows.fillna(-1).astype(int).astype(str),
                   "origin:" + datasets["origin"].astype(str))
    return pd.Series(key, index=datasets["dataset_id"].to_numpy(), name="group")


def campaign_tables(kb_dir: str | Path | None = None
                    ) -> tuple[pd.DataFrame, pd.DataFrame, pd.Series]:
    """(meta-features, performance, groups) from the campaign's consolidated tables."""
    kb_dir = Path(kb_dir) if kb_dir is not None else campaign_dir()
    runs = pd.read_parquet(kb_dir / "runs.parquet")
    datasets = pd.read_parquet(kb_dir / "datasets.parquet")
    mf = pd.read_parquet(kb_dir / "metafeatures.parquet")
    done = datasets[datasets["skipped"].fillna("") == ""]
    runs = runs[runs["dataset_id"].isin(done["dataset_id"])]
    performance = runs.assign(config=runs["family"] + ":" + runs["imputer"]).pivot_table(
        index="dataset_id", columns="config", values="value", aggfunc="first", dropna=False)
    performance = performance.reindex(columns=sorted(performance.columns))
    wide = mf.pivot_table(index="dataset_id", columns="quality", values="value", aggfunc="first")
    groups = dataset_groups(done)
    common = performance.index.intersection(wide.index)
    return wide.loc[common], performance.loc[common], groups.reindex(common)


def train(kb_dir: str | Path | None = None, model: str = "auto",
          soft: bool = True) -> ImputerSelector:
    """Fit a selector on the campaign tables in ``kb_dir`` and store it as ``model.json``."""
    kb_dir = Path(kb_dir) if kb_dir is not None else campaign_dir()
    mf, perf, groups = campaign_tables(kb_dir)
    labels = campaign_soft_labels(kb_dir, perf) if soft else None
    selector = ImputerSelector(model=model).fit(mf, perf, maximize=True, groups=groups,
                                                labels=labels)
    selector.save(Path(kb_dir) / MODEL_FILE)
    return selector


@lru_cache(maxsize=4)
def _load_cached(path: str, mtime: float) -> ImputerSelector:
    return ImputerSelector.load(path)


def load_model(path: str | Path | None = None) -> ImputerSelector:
    path = Path(path) if path is not None else campaign_dir() / MODEL_FILE
    if not path.exists():
        raise ImputationError(
            f"no imputer model at {path}; build it with `python -m metarec.imputation` after the "
            "imputation campaign (bench/imputation_campaign.py)."
        )
    return _load_cached(str(path), path.stat().st_mtime)


def _missing_rate(meta_features: pd.Series) -> float | None:
    for name in ("MissingValueRate", "NumberOfMissingValues", "PercentageOfMissingValues"):
        value = pd.to_numeric(pd.Series([meta_features.get(name)]), errors="coerce").iloc[0]
        if pd.notna(value):
            return float(value)
    return None


def recommend_imputer(meta_features: pd.Series, estimator: str | None = None,
                      model: ImputerSelector | str | Path | None = None,
                      probe: Mapping[str, float] | None = None) -> list[dict[str, Any]]:
    """Ranked imputers for a dataset profiled by :func:`metafeatures.extract`.

    ``estimator`` is a family (linear, random_forest, lightgbm) or an algorithm name of
    :data:`metarec.pipelines.ALGORITHMS`; ``None`` ranks imputers that suit any estimator. Each
    entry: ``rank``, ``imputer`` (a key of :data:`metarec.pipelines.IMPUTERS`, or ``"none"``),
    ``pipeline_imputer`` (what to put in a pipeline spec), ``needed``, ``predicted_score``
    (estimated probability of being within 0.01 of the best imputer's CV score),
    ``predicted_gap`` (expected CV-score shortfall to the best imputer), ``uncertainty``,
    ``probe_score`` (the measured CV score when ``probe`` is given, else None), ``note``.
    ``probe``: imputer -> CV score measured on this dataset with the estimator's family
    (:func:`metarec.imputation.probe.probe`); it then decides the order (see ``rank``).
    """
    if not isinstance(meta_features, pd.Series):
        raise ImputationError("meta_features must be a pandas Series (quality -> value).")
    family = estimator_family(estimator)
    native_ok = family in NATIVE_FAMILIES
    rate = _missing_rate(meta_features)
    if rate is not None and rate == 0.0:
        # Missing values may still arrive at predict time: the pipeline keeps a safe imputer.
        keep = "native" if native_ok else "median"
        return [{"rank": 1, "imputer": "none", "pipeline_imputer": keep, "needed": False,
                 "estimator_family": family or "any", "predicted_score": None,
                 "predicted_gap": 0.0, "uncertainty": 0.0, "probe_score": None,
                 "note": f"no missing values: no imputation needed (the pipeline keeps '{keep}' "
                         "for missing values that may appear in new data)"}]
    selector = model if isinstance(model, ImputerSelector) else load_model(model)
    ranked = selector.rank(meta_features, family, probe=probe)
    note = "" if rate is not None else "missing-value rate unknown; ranked as if values are missing"
    for entry in ranked:
        entry.update(pipeline_imputer=entry["imputer"], needed=True, note=note)
        if entry["imputer"] == "native":
            entry["note"] = "the estimator handles missing values itself; no imputer"
    return ranked


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(description="Train the imputer recommender from the campaign.")
    parser.add_argument("--kb", type=Path, default=None)
    parser.add_argument("--model", default="auto", choices=["auto", *MODELS])
    args = parser.parse_args(argv)
    selector = train(args.kb, args.model)
    print(json.dumps(to_jsonable({"model": selector.chosen_, "datasets": len(selector.features_),
                                  "selection": None if selector.selection_ is None
                                  else selector.selection_["hit_rate"].round(4)})))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
