"""The one cross-validation factory: every place that splits a user's data asks here.

In the spirit of scikit-learn's ``check_cv``: a splitter object is used as given; a number of folds
becomes a shuffled K-fold (stratified for classification) with as many folds as the data allows,
and data that cannot be split into two folds gets one clear sentence.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from metarec.errors import DataError


def check_cv(cv: Any, y: Any, task: str, random_state: int | None = 0) -> Any:
    """A splitter for ``y``: ``cv`` itself when it has a ``split`` method, else ``cv`` folds.

    Classification folds are stratified and never more than the smallest class has rows;
    regression folds keep at least two rows each. Raises :class:`DataError` (naming ``cv`` or the
    offending class) when fewer than two folds are possible."""
    if hasattr(cv, "split"):
        return cv
    from sklearn.model_selection import KFold, StratifiedKFold

    if not isinstance(cv, (int, np.integer)) or isinstance(cv, bool) or cv < 2:
        raise DataError(f"cross-validation needs at least 2 folds, not cv={cv!r}.")
    seed = 0 if random_state is None else int(random_state)
    y = pd.Series(np.asarray(y).ravel())
    if task == "classification":
        counts = y.value_counts()
        if len(counts) < 2:
            raise DataError("the target has only one class; a classifier needs at least two.")
        smallest = int(counts.min())
        if smallest < 2:
            raise DataError(
                f"class {counts.idxmin()!r} has a single row; cross-validation needs at least "
                "two rows of every class (drop or merge the class)."
            )
        return StratifiedKFold(min(int(cv), smallest), shuffle=True, random_state=seed)
    if len(y) < 4:
        raise DataError(f"{len(y)} rows are too few to cross-validate a regressor.")
    return KFold(min(int(cv), len(y) // 2), shuffle=True, random_state=seed)
