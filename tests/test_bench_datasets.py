"""The benchmarks' dataset reader: classes too rare for 5-fold CV are left out, and a larger
table is subsampled through metarec's one row sampler (stratified where the split allows)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from bench.datasets import Candidate, fingerprint, load


def _table(tmp_path: Path, labels: list[str]) -> Candidate:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=len(labels)), "b": rng.normal(size=len(labels)),
                          "y": labels})
    path = tmp_path / "table.csv"
    frame.to_csv(path, index=False)
    return Candidate(name="table", path=path, target="y", n_rows=len(frame), n_features=2)


def test_a_larger_table_keeps_its_class_shares(tmp_path: Path) -> None:
    labels = ["rare"] * 200 + ["common"] * 1800 + ["tiny"] * 3
    X, y, note = load(_table(tmp_path, labels), max_rows=1000)
    assert note == "1000 of 2003"
    assert len(X) == len(y) == 1000
    assert y.value_counts().to_dict() == {"common": 900, "rare": 100}  # "tiny" has < 5 rows


def test_a_table_a_few_rows_over_the_cap_is_sampled_not_refused(tmp_path: Path) -> None:
    # 1,003 rows, six classes, a cap of 1,000: a stratified split would leave 3 rows aside
    # for six classes, which scikit-learn refuses.
    labels = [f"c{i % 6}" for i in range(1003)]
    X, y, note = load(_table(tmp_path, labels), max_rows=1000)
    assert note == "1000 of 1003"
    assert len(X) == 1000 and y.nunique() == 6
    assert list(X.index) == list(range(1000))


def test_the_fingerprint_tells_other_rows_apart(tmp_path: Path) -> None:
    labels = ["rare"] * 200 + ["common"] * 1800
    candidate = _table(tmp_path, labels)
    X, y, _ = load(candidate, max_rows=1000)
    again = fingerprint(*load(candidate, max_rows=1000)[:2])
    assert fingerprint(X, y) == again
    assert fingerprint(*load(candidate, max_rows=1000, seed=1)[:2]) != again
    assert fingerprint(X.iloc[::-1], y.iloc[::-1]) != again  # same rows, other order: other folds
