"""Wide tables (p >> n): pairwise meta-features stay bounded, reading types wide files as narrow
ones, and tuning searches a dimensionality reduction."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from metarec.errors import DataError
from metarec.io import load_dataset


def _wide_csv(path: Path, n_columns: int) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(np.round(rng.normal(size=(30, n_columns)), 3),
                         columns=[f"x{i}" for i in range(n_columns)])
    frame["n"] = rng.integers(0, 5, 30)
    frame["t"] = rng.choice(["red", "blue"], 30)
    frame["y"] = rng.choice(["p", "q"], 30)
    frame.to_csv(path, index=False)
    return frame


def test_a_wide_csv_is_typed_like_a_narrow_one(tmp_path: Path) -> None:
    frame = _wide_csv(tmp_path / "wide.csv", 1_500)
    frame[["x0", "x1", "n", "t", "y"]].to_csv(tmp_path / "narrow.csv", index=False)
    wide = load_dataset(tmp_path / "wide.csv", "y")
    narrow = load_dataset(tmp_path / "narrow.csv", "y")
    assert wide.X.shape == (30, 1_502)
    pd.testing.assert_frame_equal(wide.X[["x0", "x1", "n", "t"]], narrow.X)
    pd.testing.assert_series_equal(wide.y, narrow.y)


def test_a_wide_csv_with_bad_columns_names_the_first_one(tmp_path: Path) -> None:
    frame = _wide_csv(tmp_path / "wide.csv", 1_500)
    frame["x700"] = np.nan
    frame.loc[3, "x900"] = np.inf
    frame.to_csv(tmp_path / "bad.csv", index=False)
    with pytest.raises(DataError, match="'x700' is entirely missing"):
        load_dataset(tmp_path / "bad.csv", "y")
    lenient = load_dataset(tmp_path / "bad.csv", "y", lenient=True)
    assert "x700" not in lenient.X.columns and np.isnan(lenient.X.loc[3, "x900"])
    assert any("x900" in note and "infinite" in note for note in lenient.notes)


def test_duplicate_names_in_a_wide_header_are_named(tmp_path: Path) -> None:
    names = [f"x{i}" for i in range(20_000)] + ["x17", "y"]
    (tmp_path / "dup.csv").write_text(",".join(names) + "\n" + ",".join(["1"] * len(names)))
    with pytest.raises(DataError, match="duplicate column names \\('x17'\\)"):
        load_dataset(tmp_path / "dup.csv", "y")
