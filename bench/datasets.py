"""The benchmarks' classification datasets from ``../shared/data/datasets``: where they are, how
they are read (:func:`load`), which the warm-start benchmark uses (:func:`warmstart_datasets`),
and which tables a knowledge base holds (:class:`KBIndex`, by OpenML id, name and shape).

Each benchmark holds its datasets out of the knowledge base metarec uses there
(``bench/holdout.py``), since the shipped one covers almost every classification table here.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data" / "datasets"
OUT = ROOT / "bench" / "out"

# The warm-start benchmark's first twelve datasets: the classification tables of 150+ rows and
# 3-100 features that no imported run history covered (its selection rule before metarec's own
# classification campaign covered every table); results cached under these names.
WARMSTART_FIRST = (
    "ann_thyroid", "coil2000", "colic", "dermatology", "hepatitis", "movement_libras",
    "waveform_21", "analcatdata-homerun (liac)", "audiology (liac)", "baseball-hitter (liac)",
    "baseball-pitcher (liac)", "horse-colic.ORIG (liac)")


@dataclass
class Candidate:
    name: str
    path: Path
    target: str | None
    n_rows: int
    n_features: int


def _norm(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", str(text).lower())


class KBIndex:
    """Which datasets a knowledge base holds, to keep the benchmark's datasets out of it."""

    def __init__(self, kb: Any) -> None:
        ds = kb.datasets
        self.dids = set(ds["openml_did"].dropna().astype(int))
        self.names = {_norm(n) for n in ds["name"].dropna()}
        self.rows = ds["n_instances"].astype("float").to_numpy()
        self.features = ds["n_features"].astype("float").to_numpy()
        self.classes = ds["n_classes"].astype("float").to_numpy()

    def holds(self, name: str, n_rows: float, n_features: float, did: float | None,
              n_classes: float | None = None) -> bool:
        if did is not None and not np.isnan(did) and int(did) in self.dids:
            return True
        if _norm(re.sub(r"^\d+_", "", name)) in self.names or _norm(name) in self.names:
            return True
        same = (np.abs(self.rows - n_rows) <= 0.1 * n_rows) & (
            np.abs(self.features - n_features) <= 1)
        if n_classes is not None and not np.isnan(n_classes):
            same &= (self.classes == n_classes) | np.isnan(self.classes)
        return bool(same.any())


def candidates(kb: Any | None = None, min_rows: int = 100, max_features: int = 100,
               min_features: int = 3) -> list[Candidate]:
    """Classification datasets, PMLB first (by name), then liac-arff; duplicates by shape
    dropped; with ``kb``, only those it does not hold."""
    index = KBIndex(kb) if kb is not None else None
    found: list[Candidate] = []
    seen_shapes: set[tuple[int, int]] = set()
    pmlb = pd.read_csv(DATA / "pmlb" / "INDEX.csv")
    pmlb = pmlb[pmlb["task"] == "classification"].sort_values("name")
    for row in pmlb.itertuples():
        if row.n_rows < min_rows or not min_features <= row.n_features <= max_features:
            continue
        if index is not None and index.holds(row.name, row.n_rows, row.n_features,
                                             row.openml_did, row.n_classes):
            continue
        path = DATA / "pmlb" / "datasets" / row.name / f"{row.name}.tsv.gz"
        shape = (int(row.n_rows), int(row.n_features))
        if path.exists() and shape not in seen_shapes:
            seen_shapes.add(shape)
            found.append(Candidate(row.name, path, "target", int(row.n_rows),
                                   int(row.n_features)))
    liac = pd.read_csv(DATA / "liac_arff" / "INDEX.csv")
    liac = liac[liac["parse_ok"].astype(bool) & (liac["last_attr_type"] == "nominal")]
    for row in liac.sort_values("path").itertuples():
        n_features = int(row.n_attributes) - 1
        if row.n_rows < min_rows or not min_features <= n_features <= max_features:
            continue
        name = str(row.relation)
        if index is not None and index.holds(name, row.n_rows, n_features, None):
            continue
        shape = (int(row.n_rows), n_features)
        if shape not in seen_shapes:
            seen_shapes.add(shape)
            found.append(Candidate(f"{name} (liac)", DATA / "liac_arff" / row.path, None,
                                   int(row.n_rows), n_features))
    return found


def warmstart_datasets(n: int, exclude: set[str] = frozenset()) -> list[Candidate]:
    """The warm-start benchmark's ``n`` datasets: :data:`WARMSTART_FIRST`, then PMLB tables of
    150+ rows spread over their sizes (as the head-to-head's are), none of ``exclude``; every
    one readable by :func:`load`: a pick it refuses (e.g. a target metarec reads as numbers)
    gives way to its nearest neighbour in the size order (the larger one first)."""
    pool = candidates(min_rows=150)
    by_name = {c.name: c for c in pool}
    chosen = [by_name[name] for name in WARMSTART_FIRST
              if name in by_name and _readable(by_name[name])][:n]
    taken = {c.name for c in chosen} | set(exclude)
    shapes = {(c.n_rows, c.n_features) for c in chosen}
    rest = sorted((c for c in pool if c.name not in taken and not c.name.endswith("(liac)")
                   and (c.n_rows, c.n_features) not in shapes),
                  key=lambda c: (c.n_rows, c.name))
    more = n - len(chosen)
    if more <= 0 or not rest:
        return chosen
    picks = [int(i) for i in np.unique(np.round(np.linspace(0, len(rest) - 1,
                                                            min(more, len(rest)))))]
    used: set[int] = set()
    for pick in picks:
        free = (i for i in range(len(rest))
                if i not in used and (i == pick or i not in picks))
        nearest = sorted(free, key=lambda i, pick=pick: (abs(i - pick), i < pick))
        found = next((i for i in nearest if _readable(rest[i])), None)
        if found is not None:
            used.add(found)
            chosen.append(rest[found])
    return chosen


def _readable(candidate: Candidate) -> bool:
    try:
        load(candidate, max_rows=10**9)
    except Exception:  # unreadable or not a classification table: the neighbour instead
        return False
    return True


def load(candidate: Candidate, max_rows: int, seed: int = 0) -> tuple[pd.DataFrame, pd.Series,
                                                                        str]:
    """The dataset, stratified-subsampled to ``max_rows`` (seeded); returns a note on it."""
    from metarec.crossval import sample_rows
    from metarec.io import load_dataset

    dataset = load_dataset(candidate.path, candidate.target, lenient=True)
    if dataset.task != "classification":
        raise ValueError("not a classification dataset")
    X, y = dataset.X, dataset.y
    counts = y.value_counts()
    keep = counts[counts >= 5].index  # classes too rare for 5-fold CV are left out
    X, y = X[y.isin(keep)], y[y.isin(keep)]
    y = y.cat.remove_unused_categories() if hasattr(y, "cat") else y
    note = f"{len(X)}"
    if len(X) > max_rows:
        rows = sample_rows(y, max_rows, seed, stratified=True)
        X, y = X.iloc[rows], y.iloc[rows]
        note = f"{max_rows} of {len(dataset.X)}"
        counts = y.value_counts()
        keep = counts[counts >= 5].index
        X, y = X[y.isin(keep)], y[y.isin(keep)]
    if y.nunique() < 2:
        raise ValueError("fewer than two classes")
    return X.reset_index(drop=True), y.reset_index(drop=True), note


def fingerprint(X: pd.DataFrame, y: pd.Series) -> str:
    """A short digest of the rows a benchmark ran on, in their order: a cached result is reused
    only on the same rows, so a change of sampling reruns it instead of mixing the two."""
    digest = hashlib.sha256(pd.util.hash_pandas_object(X, index=False).to_numpy().tobytes())
    digest.update(pd.util.hash_pandas_object(y.astype(str), index=False).to_numpy().tobytes())
    return digest.hexdigest()[:16]
