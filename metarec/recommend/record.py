"""The one shape of a recommendation, whatever produced it (meta-learner or fallback), and how
its hyperparameters are shown beside others."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from metarec.pipelines import normalize_spec

# Hyperparameters shown per row at least (those that tell rows apart always, however many).
SHOWN_HYPERPARAMETERS = 3


def recommendation(rank: int, spec: Mapping[str, Any], predicted_score: float,
                   uncertainty: float, *, imputer: str | None = None,
                   hyperparameters: Mapping[str, Any] | None = None,
                   predicted_fit_seconds: float | None = None,
                   score_range: tuple[float, float] | None = None,
                   **extra: Any) -> dict[str, Any]:
    """A recommendation as ``metarec recommend --json`` documents it.

    ``spec`` is the pipeline spec (``metarec.pipelines.build(spec)`` builds it); ``imputer`` and
    ``hyperparameters`` default to the spec's own, and ``extra`` adds keys such as ``source`` or
    ``configuration_id``. ``predicted_fit_seconds`` is the predicted time of one fit on the
    user's data (None: no prediction, e.g. a configuration without recorded fit times).
    ``lower`` and ``upper`` are ``predicted_score`` ∓ ``uncertainty``; with ``score_range`` (the
    metric's possible values) they and the score are clipped to it, since a balanced accuracy of
    1.05 is no estimate of anything."""
    normalized = normalize_spec(spec)
    low, high = score_range if score_range is not None else (-math.inf, math.inf)
    score, spread = float(predicted_score), float(uncertainty)
    return {
        "rank": rank,
        **({"configuration_id": extra.pop("configuration_id")}
           if "configuration_id" in extra else {}),
        "algorithm": normalized["algorithm"],
        "imputer": imputer if imputer is not None else normalized["imputer"]["name"],
        "hyperparameters": dict(hyperparameters if hyperparameters is not None
                                else normalized["hyperparameters"]),
        "pipeline": dict(spec),
        "predicted_score": _clip(score, low, high),
        "uncertainty": spread,
        "lower": _clip(score - spread, low, high),
        "upper": _clip(score + spread, low, high),
        "predicted_fit_seconds": (None if predicted_fit_seconds is None
                                  else float(predicted_fit_seconds)),
        **extra,
    }


def _clip(value: float, low: float, high: float) -> float:
    return value if math.isnan(value) else min(max(value, low), high)


def distinguishing_hyperparameters(recommendations: Sequence[Mapping[str, Any]],
                                   at_least: int = SHOWN_HYPERPARAMETERS) -> list[list[str]]:
    """For each recommendation, the names of the hyperparameters to show beside the others.

    First, sorted, every hyperparameter whose value differs between rows of the same algorithm
    (an RBF and a polynomial SVM differ in ``kernel``, which the first three names alphabetically
    would not show); then the row's other hyperparameters, alphabetically, up to ``at_least``.
    """
    by_algorithm: dict[str, list[Mapping[str, Any]]] = {}
    for rec in recommendations:
        by_algorithm.setdefault(str(rec["algorithm"]), []).append(rec["hyperparameters"])
    differing: dict[str, set[str]] = {}
    for algorithm, rows in by_algorithm.items():
        names = set().union(*(row.keys() for row in rows))
        differing[algorithm] = {
            name for name in names
            if len({_identity(row.get(name, _MISSING)) for row in rows}) > 1}
    out = []
    for rec in recommendations:
        hyper = rec["hyperparameters"]
        first = sorted(n for n in hyper if n in differing[str(rec["algorithm"])])
        rest = sorted(n for n in hyper if n not in first)
        out.append(first + rest[:max(0, at_least - len(first))])
    return out


def format_hyperparameters(recommendations: Sequence[Mapping[str, Any]],
                           at_least: int = SHOWN_HYPERPARAMETERS) -> list[list[str]]:
    """``name=value`` texts per recommendation (see :func:`distinguishing_hyperparameters`), each
    value printed with as many digits as it takes to tell it from the other rows' values."""
    names = distinguishing_hyperparameters(recommendations, at_least)
    values: dict[str, set[Any]] = {}
    for rec in recommendations:
        for name, value in rec["hyperparameters"].items():
            values.setdefault(name, set()).add(_identity(value))
    return [[f"{name}={_short(rec['hyperparameters'][name], values[name])}" for name in shown]
            for rec, shown in zip(recommendations, names, strict=True)]


_MISSING = object()


def _identity(value: Any) -> Any:
    """A hashable stand-in for a hyperparameter value: equal exactly when the settings are."""
    # 1 and 1.0 are one setting; lists (a layer sizes tuple in JSON) and dicts become hashable
    if isinstance(value, list | tuple):
        return ("seq", *(_identity(v) for v in value))
    if isinstance(value, dict):
        return ("map", *sorted((str(k), repr(_identity(v))) for k, v in value.items()))
    if isinstance(value, bool) or value is None or value is _MISSING:
        return (type(value).__name__, value)
    if isinstance(value, float) and math.isnan(value):
        return ("nan",)  # NaN != NaN would make two unset values look different
    try:
        hash(value)
    except TypeError:
        return ("repr", repr(value))
    return value


def _short(value: Any, others: set[Any]) -> str:
    if not isinstance(value, float) or isinstance(value, bool):
        return str(value)
    floats = [v for v in others if isinstance(v, float | int) and not isinstance(v, bool)]
    for digits in range(4, 18):
        text = f"{value:.{digits}g}"
        if all(f"{v:.{digits}g}" != text for v in floats if v != value):
            return text
    return repr(value)
