"""The one shape of a recommendation, whatever produced it (meta-learner or fallback)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from metarec.pipelines import normalize_spec


def recommendation(rank: int, spec: Mapping[str, Any], predicted_score: float,
                   uncertainty: float, *, imputer: str | None = None,
                   hyperparameters: Mapping[str, Any] | None = None,
                   predicted_fit_seconds: float | None = None,
                   **extra: Any) -> dict[str, Any]:
    """A recommendation as ``metarec recommend --json`` documents it.

    ``spec`` is the pipeline spec (``metarec.pipelines.build(spec)`` builds it); ``imputer`` and
    ``hyperparameters`` default to the spec's own, and ``extra`` adds keys such as ``source`` or
    ``configuration_id``. ``predicted_fit_seconds`` is the predicted time of one fit on the
    user's data (None: no prediction, e.g. a configuration without recorded fit times)."""
    normalized = normalize_spec(spec)
    return {
        "rank": rank,
        **({"configuration_id": extra.pop("configuration_id")}
           if "configuration_id" in extra else {}),
        "algorithm": normalized["algorithm"],
        "imputer": imputer if imputer is not None else normalized["imputer"]["name"],
        "hyperparameters": dict(hyperparameters if hyperparameters is not None
                                else normalized["hyperparameters"]),
        "pipeline": dict(spec),
        "predicted_score": float(predicted_score),
        "uncertainty": float(uncertainty),
        "predicted_fit_seconds": (None if predicted_fit_seconds is None
                                  else float(predicted_fit_seconds)),
        **extra,
    }
