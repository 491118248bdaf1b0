"""Inject missing values into a complete table: MCAR, MAR or MNAR, seeded and recorded.

Used by the imputation run campaign (``bench/imputation_campaign.py``) to create datasets whose
missingness mechanism and rate are known. In every mechanism a share of the feature columns is
masked, and in each masked column exactly ``round(rate * n_rows)`` cells go missing (so the rate is
exact, not only expected); the mechanisms differ only in *which* cells:

* ``mcar``: uniformly at random, independent of every value;
* ``mar``: more likely where another, always-observed "driver" column is high (so missingness is
  predictable from observed data, but not from the hidden value itself);
* ``mnar``: more likely where the hidden value itself is high (self-masking).

"High" for a categorical column means a late category in its sorted order. The driver columns of
MAR are never masked, otherwise the mechanism would silently turn into MNAR.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

Mechanism = Literal["mcar", "mar", "mnar"]
MECHANISMS: tuple[Mechanism, ...] = ("mcar", "mar", "mnar")
# Selection weights are exp(STRENGTH * standardised score): strong enough that the dependence is
# unmistakable at 5-40% rates, but not so strong that only the single top tail is ever masked.
STRENGTH = 2.0


@dataclass
class Injection:
    """What was injected, to be stored as dataset attributes beside the results."""

    mechanism: str
    rate: float  # share of cells masked in each masked column
    seed: int
    column_share: float  # share of feature columns chosen for masking
    masked_columns: list[str] = field(default_factory=list)
    drivers: dict[str, str] = field(default_factory=dict)  # MAR: masked column -> driver column
    achieved_rate: float = 0.0  # share of all feature cells that are missing after injection

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def _score(column: pd.Series) -> np.ndarray:
    """Standardised numeric score of a column (NaN -> 0), categories by their sorted order."""
    if isinstance(column.dtype, pd.CategoricalDtype) or not pd.api.types.is_numeric_dtype(column):
        values = column.astype("category")
        codes = values.cat.codes.to_numpy().astype(float)
        codes[codes < 0] = np.nan
        raw = codes
    else:
        raw = column.to_numpy(dtype=float, na_value=np.nan)
    finite = np.isfinite(raw)
    if finite.sum() < 2:
        return np.zeros(len(raw))
    # ranks, not raw values: one outlier must not take all the selection weight
    ranks = pd.Series(raw).rank(method="average").to_numpy()
    mean, std = np.nanmean(ranks), np.nanstd(ranks)
    z = (ranks - mean) / std if std > 0 else np.zeros(len(raw))
    return np.where(finite, z, 0.0)


def _pick_cells(
    rng: np.random.Generator, weights: np.ndarray, candidates: np.ndarray, k: int
) -> np.ndarray:
    """Choose ``k`` of the candidate rows without replacement, proportionally to ``weights``."""
    idx = np.flatnonzero(candidates)
    k = min(k, len(idx))
    if k <= 0:
        return np.array([], dtype=int)
    w = weights[idx]
    # Efraimidis-Spirakis keys: exact weighted sampling without replacement, vectorised.
    keys = np.log(rng.random(len(idx))) / w
    return idx[np.argsort(-keys, kind="stable")[:k]]


def inject(
    X: pd.DataFrame,
    mechanism: Mechanism,
    rate: float,
    seed: int = 0,
    column_share: float = 0.5,
    columns: list[str] | None = None,
) -> tuple[pd.DataFrame, Injection]:
    """Return a copy of ``X`` with missing values injected, and the record of what was done.

    ``columns`` fixes the columns to mask; otherwise ``column_share`` of them (at least one) are
    drawn with ``seed``. ``rate`` is in [0, 1]; 1 masks whole columns (a degenerate case callers
    must survive, which is why it is allowed).
    """
    if mechanism not in MECHANISMS:
        raise ValueError(f"unknown mechanism {mechanism!r}; use one of {', '.join(MECHANISMS)}.")
    if not 0.0 <= rate <= 1.0:
        raise ValueError(f"rate must be in [0, 1], not {rate}.")
    if X.shape[1] == 0:
        raise ValueError("X has no columns to inject missing values into.")
    rng = np.random.default_rng(seed)
    names = [str(c) for c in X.columns]
    if columns is None:
        n_mask = max(1, int(round(column_share * len(names))))
        if mechanism == "mar":
            # MAR needs at least one column left observed to drive the others.
            n_mask = min(n_mask, len(names) - 1)
            if n_mask < 1:
                raise ValueError("MAR needs at least two columns (one stays observed).")
        columns = [names[i] for i in np.sort(rng.choice(len(names), n_mask, replace=False))]
    unknown = [c for c in columns if c not in names]
    if unknown:
        raise ValueError(f"unknown column(s) {', '.join(unknown)}.")

    out = X.copy()
    out.columns = names
    record = Injection(mechanism, float(rate), int(seed), float(column_share), list(columns))
    observed = [c for c in names if c not in columns]
    if mechanism == "mar" and not observed:
        raise ValueError("MAR needs at least one column that is not masked.")
    n = len(out)
    k = int(round(rate * n))
    for col in columns:
        if pd.api.types.is_numeric_dtype(out[col]) and not pd.api.types.is_float_dtype(out[col]):
            out[col] = out[col].astype(float)  # integers and booleans cannot hold NaN
        candidates = out[col].notna().to_numpy()
        if mechanism == "mcar":
            weights = np.ones(n)
        elif mechanism == "mnar":
            weights = np.exp(STRENGTH * _score(out[col]))
        else:
            driver = observed[int(rng.integers(len(observed)))]
            record.drivers[col] = driver
            weights = np.exp(STRENGTH * _score(out[driver]))
        rows = _pick_cells(rng, weights, candidates, k)
        if len(rows):
            # iloc + NaN works for numeric and categorical columns alike
            out.iloc[rows, out.columns.get_loc(col)] = np.nan
    total = out.shape[0] * out.shape[1]
    record.achieved_rate = float(out.isna().to_numpy().sum() / total) if total else 0.0
    return out, record
