"""Summaries of per-attribute values under OpenML's names (Mean/Min/Max/Quartile1-3 of X)."""

from __future__ import annotations

import numpy as np

SUMMARY_PREFIXES = ("Mean", "Min", "Max", "Quartile1", "Quartile2", "Quartile3")


def summarize(values: np.ndarray, name: str) -> dict[str, float]:
    """Mean, min, max and quartiles of the finite entries of ``values``.

    Quartiles use the (n + 1) p position rule ("weibull" in numpy), which is what OpenML's
    quality calculator (Apache Commons Math ``Percentile``) uses, so values agree with OpenML's.
    """
    finite = np.asarray(values, dtype=np.float64)
    finite = finite[np.isfinite(finite)]
    if finite.size == 0:
        return {f"{prefix}{name}": np.nan for prefix in SUMMARY_PREFIXES}
    q1, q2, q3 = np.percentile(finite, [25, 50, 75], method="weibull")
    return {
        f"Mean{name}": float(finite.mean()),
        f"Min{name}": float(finite.min()),
        f"Max{name}": float(finite.max()),
        f"Quartile1{name}": float(q1),
        f"Quartile2{name}": float(q2),
        f"Quartile3{name}": float(q3),
    }


def safe_ratio(numerator: float, denominator: float) -> float:
    """numerator / denominator, NaN when the ratio is undefined."""
    if denominator == 0 or not np.isfinite(denominator) or not np.isfinite(numerator):
        return np.nan
    return float(numerator / denominator)
