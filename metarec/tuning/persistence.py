"""Saving and loading fitted pipelines with skops (a format that never runs code on load)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from metarec.errors import MetaRecError
from metarec.files import atomic_path

# -- saving fitted pipelines ------------------------------------------------------------------
# Types a metarec pipeline is made of beyond what skops trusts by default. Loading refuses any
# file that needs a type outside skops' defaults and this list.
TRUSTED_TYPES: tuple[str, ...] = (
    "collections.OrderedDict",
    "numpy.dtype",
    "lightgbm.basic.Booster",
    "lightgbm.sklearn.LGBMClassifier",
    "lightgbm.sklearn.LGBMRegressor",
    "metarec.pipelines._as_object",
    "metarec.pipelines._clip_negative",
    "metarec.pipelines.CappedFeatureAgglomeration",
    "metarec.tuning.ensemble.WeightedEnsembleClassifier",
    "metarec.tuning.ensemble.WeightedEnsembleRegressor",
    "sklearn.compose._column_transformer.make_column_selector",
    "sklearn.ensemble._hist_gradient_boosting.binning._BinMapper",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "sklearn.metrics._dist_metrics.EuclideanDistance64",
    "sklearn.metrics._dist_metrics.ManhattanDistance64",
    "sklearn.metrics._dist_metrics.MinkowskiDistance64",
    "sklearn.neighbors._ball_tree.BallTree",
    "sklearn.neighbors._kd_tree.KDTree",
    "sklearn.neural_network._stochastic_optimizers.AdamOptimizer",
    "sklearn.neural_network._stochastic_optimizers.SGDOptimizer",
    "sklearn.tree._tree.Tree",
)


def save_pipeline(pipeline: Any, path: str | Path, overwrite: bool = False) -> Path:
    """Save a fitted pipeline with skops (a format that never runs code on load)."""
    import skops.io as sio

    path = Path(path)
    if path.exists() and not overwrite:
        raise MetaRecError(f"{path} already exists; choose another path or pass `overwrite=True`.",
                           parameters=("overwrite",))
    with atomic_path(path) as tmp:
        sio.dump(pipeline, tmp)
    return path


def load_pipeline(path: str | Path, extra_trusted: Iterable[str] = ()) -> Any:
    """Load a pipeline saved by :func:`save_pipeline`, trusting only skops' defaults,
    :data:`TRUSTED_TYPES` and ``extra_trusted``; anything else is refused."""
    import skops.io as sio

    path = Path(path)
    if not path.is_file():
        raise MetaRecError(f"{path} does not exist.")
    try:
        untrusted = sio.get_untrusted_types(file=path)
    except Exception as exc:
        raise MetaRecError(f"{path} is not a readable skops file ({exc}).") from None
    allowed = set(TRUSTED_TYPES) | set(extra_trusted)
    refused = sorted(set(untrusted) - allowed)
    if refused:
        raise MetaRecError(
            f"{path} contains types metarec does not trust ({', '.join(refused[:5])}); "
            "refusing to load it."
        )
    return sio.load(path, trusted=list(untrusted))
