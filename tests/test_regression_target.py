"""A regression target that cannot be learned or scored gets one sentence wherever it enters:
the commands that read a table (recommend, tune, kb add), the library, and the estimators."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from metarec import MetaRecRegressor
from metarec.columns import check_regression_target
from metarec.errors import DataError
from metarec.io import load_dataset

N = 60


def _table(y: object) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame({"a": rng.normal(size=N), "b": rng.normal(size=N), "y": y})


def _quantity() -> np.ndarray:
    return np.random.default_rng(1).normal(size=N) * 3.0 + 10.0


def _with(values: dict[int, object]) -> list[object]:
    y: list[object] = list(np.round(_quantity(), 4))
    for row, value in values.items():
        y[row] = value
    return y


BAD_TARGETS = [
    ("constant", [2.5] * N, "the target 'y' is constant; there is nothing to predict"),
    ("few_values", np.tile([0.5, 1.5, 2.5], N // 3),
     "the target 'y' takes only 3 distinct values (0.5, 1.5, 2.5) over 60 rows, so it looks "
     "like classes rather than a quantity: recode them as labels or whole numbers"),
    ("infinite", _with({3: np.inf, 7: -np.inf}),
     "the target 'y' holds 2 infinite values, with which no regression score"),
    ("enormous", _with({5: 3e200}), "the target 'y' holds 1 value beyond ±1e+150"),
    ("free_text", [f"note {i}" for i in range(N)],
     "is text with 60 distinct values in 60 rows"),  # tune hands the values on without a name
    ("numbers_and_text", _with({2: "unknown", 9: "n/a"}),
     "the target column 'y' mixes numbers and text (e.g. 'unknown')"),
]


@pytest.mark.parametrize(("name", "y", "phrase"), BAD_TARGETS, ids=[b[0] for b in BAD_TARGETS])
def test_every_command_refuses_a_bad_regression_target_in_one_sentence(cli, tmp_path, name, y,
                                                                        phrase):
    path = tmp_path / f"{name}.csv"
    _table(y).to_csv(path, index=False)
    kb = tmp_path / "kb"
    for words in (["recommend"], ["tune", "--trials", "1"], ["kb", "add", "--kb", str(kb)]):
        code, out, err = cli(*words[:2 if words[0] == "kb" else 1], str(path), "-t", "y",
                             *words[2 if words[0] == "kb" else 1:])
        lines = [line for line in err.splitlines() if line.startswith("metarec: error:")]
        assert code == 2, (words, err)
        assert len(lines) == 1 and "Traceback" not in err + out, err
        assert phrase in lines[0], (words, lines[0])
    assert not kb.exists()  # nothing written


def test_a_quantity_with_many_values_is_still_a_regression_target(tmp_path):
    path = tmp_path / "fine.csv"
    _table(_quantity()).to_csv(path, index=False)
    assert load_dataset(path, "y").task == "regression"
    # Few values on few rows are a small sample of a quantity, not a set of levels.
    _table(np.resize([0.5, 1.5, 2.5, 3.25], N)).head(8).to_csv(path, index=False)
    assert load_dataset(path, "y").task == "regression"


def test_a_caller_who_says_regression_may_regress_on_few_values(tmp_path):
    path = tmp_path / "levels.csv"
    _table(np.tile([0.5, 1.5, 2.5], N // 3)).to_csv(path, index=False)
    assert load_dataset(path, "y", task="regression").y.nunique() == 3


def test_lenient_reads_a_target_of_numbers_and_text_as_classes(tmp_path):
    path = tmp_path / "labels.csv"
    _table(np.resize(["1", "2", "3", "other"], N)).to_csv(path, index=False)
    data = load_dataset(path, "y", lenient=True)
    assert data.task == "classification" and "other" in data.y.cat.categories


@pytest.mark.parametrize(("y", "phrase"), [
    (np.array(["a", "b"] * 30, dtype=object), "holds text (e.g. 'a'), not numbers"),
    (np.r_[np.full(59, 1.0), np.nan], "is constant"),  # missing values are not a second one
    (np.r_[np.arange(59.0), np.inf], "1 infinite value,"),
    (np.r_[np.arange(58.0), 1e151, -1e160], "2 values beyond ±1e+150"),
])
def test_the_one_rule_for_arrays(y, phrase):
    with pytest.raises(DataError, match=re.escape(phrase)):
        check_regression_target(y)
    check_regression_target(np.arange(60.0))  # a quantity passes


@pytest.mark.parametrize(("y", "phrase"), [
    (np.full(N, 4.0), "the target is constant"),
    (np.r_[_quantity()[:-1], 1e200], "1 value beyond"),
])
def test_the_regressor_refuses_what_the_commands_refuse(y, phrase):
    X = _table(y).drop(columns="y")
    with pytest.raises(DataError, match=phrase):
        MetaRecRegressor(kb=False).fit(X, y)
