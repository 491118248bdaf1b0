"""The one cross-validation factory: every place that splits a user's data asks here.

In the spirit of scikit-learn's ``check_cv``: a splitter object is used as given; a number of folds
becomes a shuffled K-fold (stratified for classification) with as many folds as the data allows;
a share between 0 and 1 becomes one fixed holdout split of that share (stratified for
classification); data that cannot be split into two folds gets one clear sentence.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from metarec.errors import DataError

# A text target with more distinct values than this, most on a single row, is free text or an
# identifier, not classes; fewer are a table too small to tell (named class by class).
FREE_TEXT_MIN_DISTINCT = 20


def check_cv(cv: Any, y: Any, task: str, random_state: int | None = 0) -> Any:
    """A splitter for ``y``: ``cv`` itself when it has a ``split`` method, else ``cv`` folds.

    Classification folds are stratified and never more than the smallest class has rows;
    regression folds keep at least two rows each. Raises :class:`DataError` (naming ``cv`` or the
    offending class) when fewer than two folds are possible."""
    if hasattr(cv, "split"):
        return cv
    from sklearn.model_selection import KFold, StratifiedKFold

    if isinstance(cv, float) and 0 < cv < 1:
        check_splittable(y, task)
        return holdout_split(y, task, cv, random_state)

    if not isinstance(cv, (int, np.integer)) or isinstance(cv, bool) or cv < 2:
        raise DataError(f"cross-validation needs at least 2 folds, not cv={cv!r}.")
    seed = 0 if random_state is None else int(random_state)
    check_splittable(y, task)
    y = pd.Series(np.asarray(y).ravel())
    if task == "classification":
        smallest = int(y.value_counts().min())
        return StratifiedKFold(min(int(cv), smallest), shuffle=True, random_state=seed)
    return KFold(min(int(cv), len(y) // 2), shuffle=True, random_state=seed)


def holdout_split(y: Any, task: str, share: float, random_state: int | None = 0) -> Any:
    """One fixed split: ``share`` of the rows held out for validation (stratified for
    classification), as a splitter (``test_fold`` 0 marks the held-out rows)."""
    from sklearn.model_selection import PredefinedSplit, train_test_split

    y = np.asarray(y).ravel()
    seed = 0 if random_state is None else int(random_state)
    try:
        _, held = train_test_split(np.arange(len(y)), test_size=share, random_state=seed,
                                   stratify=y if task == "classification" else None)
    except ValueError as exc:  # a class too small to be on both sides
        raise DataError(f"a holdout of {share:g} of the rows cannot be stratified by class "
                        f"({exc}).", parameters=("cv",)) from None
    fold = np.full(len(y), -1)
    fold[held] = 0
    return PredefinedSplit(fold)


def check_splittable(y: Any, task: str) -> None:
    """Raise :class:`DataError` unless ``y`` can be cross-validated with two folds.

    The one rule for every command that learns from the user's data (recommend, tune and the
    estimators, kb add): each class needs two rows (one per fold), a regression target four (two
    per fold), whether or not the command itself cross-validates, so a table is refused or
    accepted the same way everywhere. Names every single-row class at once."""
    y_in, y = y, pd.Series(np.asarray(y).ravel())
    if task == "classification":
        counts = y.value_counts()
        if len(counts) < 2:
            raise DataError("the target has only one class; a classifier needs at least two.")
        single = [repr(c) for c, n in counts.items() if n < 2]
        if (2 * len(single) > len(y) and len(counts) > FREE_TEXT_MIN_DISTINCT
                and not _numbers(y)):
            name = getattr(y_in, "name", None)
            the = f"the target {name!r}" if name is not None else "the target"
            raise DataError(
                f"{the} is text with {len(counts)} distinct values in {len(y)} rows, most of "
                "them on a single row: that is neither classes to learn (each needs rows) nor "
                "numbers to regress on; choose another target column, or make its values numbers."
            )
        if single:
            shown = ", ".join(single[:10]) + (f" and {len(single) - 10} more"
                                             if len(single) > 10 else "")
            raise DataError(
                f"{'class' if len(single) == 1 else 'classes'} {shown} "
                f"{'has a single row' if len(single) == 1 else 'have a single row each'}; "
                "cross-validation needs at least two rows of every class (drop or merge "
                f"{'it' if len(single) == 1 else 'them'})."
            )
    elif len(y) < 4:
        raise DataError(f"{len(y)} rows are too few to cross-validate a regressor; at least 4 "
                        "are needed.")


def _numbers(y: pd.Series) -> bool:
    """Whether the class labels are numbers (then many single-row classes are a tiny table)."""
    return bool(pd.to_numeric(y.dropna().astype(object), errors="coerce").notna().all())


def sample_rows(y: Any, size: int, seed: int, stratified: bool) -> np.ndarray:
    """Sorted positions of ``size`` of the rows of ``y``, drawn seeded; stratified by class when
    ``stratified`` and the split allows it: every class needs two rows, and the rows left aside
    one per class (a table a few rows over ``size`` is sampled plainly)."""
    from sklearn.model_selection import train_test_split

    y = np.asarray(y).ravel()
    if size >= len(y):
        return np.arange(len(y))
    counts = pd.Series(y).value_counts()
    can_stratify = (stratified and counts.min() >= 2
                    and min(size, len(y) - size) >= len(counts))
    chosen, _ = train_test_split(np.arange(len(y)), train_size=size, random_state=seed,
                                 stratify=y if can_stratify else None)
    return np.sort(chosen)
