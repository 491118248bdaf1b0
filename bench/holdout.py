"""Leave-datasets-out for the benchmarks: benchmark datasets chosen from ``../shared/data``, and
a knowledge base with every trace of them removed, with its learners fitted.

The shipped knowledge base holds almost every classification table of the shared data (the
classification campaign ran on all of them), so the benchmarks hold their datasets out instead:
the copy drops each knowledge-base dataset that matches one of the head-to-head's (and zero-shot's)
datasets or one of the warm-start benchmark's by OpenML id, by name, or by shape (rows within
10%, features within 1, the same number of classes where known), with its meta-features and
runs. The meta-learner fitted on the copy has never seen any benchmark dataset.

    python -m bench.holdout --datasets 20      # writes bench/out/kb-holdout (minutes)
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bench.datasets import DATA, OUT, Candidate, warmstart_datasets

HOLDOUT_KB = OUT / "kb-holdout"
MIN_ROWS, MAX_ROWS, MAX_FEATURES = 500, 100_000, 100


def _norm(text: Any) -> str:
    return re.sub(r"[^a-z0-9]", "", re.sub(r"^\d+_", "", str(text).lower()))


def benchmark_datasets(n: int) -> list[tuple[Candidate, float | None, int | None]]:
    """``n`` PMLB classification tables of 500-100,000 rows (at most 100 features), spread over
    their sizes; duplicates by shape dropped. With each: its OpenML id (or None) and classes."""
    index = pd.read_csv(DATA / "pmlb" / "INDEX.csv")
    index = index[(index["task"] == "classification") & index["n_rows"].between(MIN_ROWS, MAX_ROWS)
                  & (index["n_features"] <= MAX_FEATURES)].sort_values(["n_rows", "name"])
    index = index.drop_duplicates(subset=["n_rows", "n_features"])
    picks = np.unique(np.round(np.linspace(0, len(index) - 1, min(n, len(index)))).astype(int))
    chosen = []
    for row in index.iloc[picks].itertuples():
        path = DATA / "pmlb" / "datasets" / row.name / f"{row.name}.tsv.gz"
        did = None if pd.isna(row.openml_did) else float(row.openml_did)
        chosen.append((Candidate(row.name, path, "target", int(row.n_rows),
                                 int(row.n_features)), did, int(row.n_classes)))
    return chosen


def matching_kb_datasets(kb: Any,
                         chosen: list[tuple[Candidate, float | None, int | None]]) -> set[str]:
    """dataset_ids of the knowledge base that are (or may be) one of ``chosen``."""
    ds = kb.datasets
    rows = ds["n_instances"].astype("float").to_numpy()
    features = ds["n_features"].astype("float").to_numpy()
    classes = ds["n_classes"].astype("float").to_numpy()
    dids = ds["openml_did"].astype("float").to_numpy()
    names = np.array([_norm(n) if isinstance(n, str) else "" for n in ds["name"]])
    hit = np.zeros(len(ds), dtype=bool)
    for candidate, did, n_classes in chosen:
        if did is not None:
            hit |= dids == did
        hit |= names == _norm(candidate.name)
        same_classes = (np.ones(len(ds), dtype=bool) if n_classes is None
                        else (classes == n_classes) | np.isnan(classes))
        hit |= ((np.abs(rows - candidate.n_rows) <= 0.1 * candidate.n_rows)
                & (np.abs(features - candidate.n_features) <= 1) & same_classes)
    return set(ds.loc[hit, "dataset_id"].astype(str))


def with_identity(candidates: list[Candidate]) -> list[tuple[Candidate, float | None, int | None]]:
    """Each candidate with its OpenML id and classes where PMLB's index gives them."""
    index = pd.read_csv(DATA / "pmlb" / "INDEX.csv").set_index("name")
    out = []
    for c in candidates:
        if c.name in index.index:
            row = index.loc[c.name]
            did = None if pd.isna(row["openml_did"]) else float(row["openml_did"])
            out.append((c, did, int(row["n_classes"])))
        else:
            out.append((c, None, None))
    return out


def warmstart_benchmark(n_warmstart: int, n_headtohead: int = 20) -> list[Candidate]:
    """The warm-start benchmark's datasets: none of the head-to-head's ``n_headtohead``."""
    return warmstart_datasets(n_warmstart, {c.name for c, _, _ in benchmark_datasets(
        n_headtohead)})


def all_benchmark_datasets(n: int, n_warmstart: int) -> list[tuple[Candidate, float | None,
                                                                  int | None]]:
    """The head-to-head's ``n`` datasets and the warm-start benchmark's ``n_warmstart``."""
    return [*benchmark_datasets(n), *with_identity(warmstart_benchmark(n_warmstart, n))]


def build_holdout_kb(n: int, out: Path = HOLDOUT_KB, n_warmstart: int = 20,
                     source: Path | None = None) -> dict[str, Any]:
    from metarec import kb as kb_module
    from metarec.kb.store import write
    from metarec.recommend.learner_cache import ship

    kb = kb_module.load(source)
    chosen = all_benchmark_datasets(n, n_warmstart)
    dropped = matching_kb_datasets(kb, chosen)
    keep = lambda frame: frame[~frame["dataset_id"].astype(str).isin(dropped)]  # noqa: E731
    tables = {"datasets": keep(kb.datasets), "metafeatures": keep(kb.metafeatures),
              "configurations": kb.configurations, "runs": keep(kb.runs)}
    manifest = {k: v for k, v in kb.manifest.items() if k != "tables"}
    manifest["holdout"] = {"benchmark_datasets": [c.name for c, _, _ in chosen],
                           "dropped_dataset_ids": sorted(dropped)}
    write(tables, manifest, out)
    ship(out)
    summary = {"benchmark_datasets": [c.name for c, _, _ in chosen],
               "dropped": len(dropped), "kept": int(tables["datasets"].shape[0])}
    (out / "HOLDOUT.json").write_text(json.dumps(summary, indent=1))
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", type=int, default=20, help="the head-to-head's datasets")
    parser.add_argument("--warmstart-datasets", type=int, default=20)
    parser.add_argument("--kb", type=Path, help="the knowledge base to copy (default: shipped)")
    parser.add_argument("--out", type=Path, default=HOLDOUT_KB)
    args = parser.parse_args()
    print(json.dumps(build_holdout_kb(args.datasets, args.out, args.warmstart_datasets,
                                      args.kb), indent=1))


if __name__ == "__main__":
    main()
