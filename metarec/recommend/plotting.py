"""``metarec recommend --plot``: the ranking with uncertainty, and where the dataset sits.

matplotlib is an optional dependency (the ``plot`` extra); it is imported only here.
"""

from __future__ import annotations

import math
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from metarec.errors import MetaRecError
from metarec.recommend.record import format_hyperparameters

# One marker per nearest dataset, named in the legend: text beside points that lie close
# together (nearest neighbours usually do) would overlap.
NEIGHBOUR_MARKERS = ("o", "s", "^", "D", "v", "P")


def _projection(reference: np.ndarray, query: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """2-D PCA of the knowledge base's scaled meta-features, with the query projected into it,
    and the share of variance each axis explains."""
    from sklearn.decomposition import PCA

    pca = PCA(n_components=2, random_state=0).fit(reference)
    return pca.transform(reference), pca.transform(query), pca.explained_variance_ratio_


def labels(recommendations: list[dict[str, Any]]) -> list[str]:
    """One label per recommendation that tells it from the others: rank, algorithm, the
    hyperparameters that differ between rows of the same algorithm, imputer."""
    differing = format_hyperparameters(recommendations, at_least=0)
    out = []
    for rec, hyper in zip(recommendations, differing, strict=True):
        text = f"{rec['rank']}. {rec['algorithm']}" + (f" ({', '.join(hyper)})" if hyper else "")
        out.append(textwrap.fill(f"{text} / {rec['imputer']}", 48))
    return out


def draw_report(report: Any) -> Any:
    """The figure of ``report``: its ranking and where its dataset sits among the knowledge
    base's datasets (as the meta-learner that made the report compares them)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise MetaRecError(
            "plotting a recommendation needs matplotlib; install it with "
            "`pip install 'metarec[plot]'`."
        ) from None
    learner = report.learner
    reference = learner.embed()
    query = learner.embed(report.metafeatures.to_frame().T)
    kb_xy, query_xy, explained = _projection(reference, query)

    recs = report.recommendations
    fig, (left, right) = plt.subplots(1, 2, figsize=(14, max(5.0, 0.7 * len(recs) + 2)))
    names = labels(recs)[::-1]
    scores = np.array([r["predicted_score"] for r in recs][::-1])
    lower = np.array([r.get("lower", r["predicted_score"] - r["uncertainty"])
                      for r in recs][::-1])
    upper = np.array([r.get("upper", r["predicted_score"] + r["uncertainty"])
                      for r in recs][::-1])
    y = np.arange(len(recs))
    # Points with interval bars, not bars from an origin: the axis is zoomed to the intervals,
    # and a bar's length would then mean nothing.
    left.errorbar(scores, y, xerr=[scores - lower, upper - scores], fmt="o", color="#4c78a8",
                  ecolor="#333333", capsize=4)
    left.set_yticks(y, names, fontsize=8)
    low_bound, high_bound = report.evidence.score_range
    finite = np.concatenate([lower, upper])
    finite = finite[np.isfinite(finite)]
    pad = 0.05 * max(float(np.ptp(finite)) if finite.size else 1.0, 1e-3)
    start = max(low_bound, float(finite.min()) - pad) if finite.size else low_bound
    end = min(high_bound, float(finite.max()) + pad) if finite.size else high_bound
    if math.isfinite(start) and math.isfinite(end):
        left.set_xlim(start, end)
    clipped = (f", clipped to [{low_bound:g}, {high_bound:g}]"
               if math.isfinite(low_bound) and math.isfinite(high_bound) else "")
    left.set_xlabel(f"predicted {report.evidence.score_name} ± one standard deviation{clipped}"
                    f"\naxis from {left.get_xlim()[0]:.3g} to {left.get_xlim()[1]:.3g}")
    left.set_title("Recommendations (rank 1 at the top)")

    right.scatter(kb_xy[:, 0], kb_xy[:, 1], s=12, color="#bbbbbb", label="knowledge base")
    positions = pd.Index(learner.datasets_)
    for j, n in enumerate(report.neighbours):
        i = positions.get_indexer([n["dataset_id"]])[0]
        if i < 0:
            continue
        name = n["name"] or n["dataset_id"]
        right.scatter(kb_xy[i, 0], kb_xy[i, 1], s=50, color="#f58518",
                      marker=NEIGHBOUR_MARKERS[j % len(NEIGHBOUR_MARKERS)], edgecolor="black",
                      label=f"nearest {j + 1}: {name} (distance {n['distance']:.3f})")
    flag = report.out_of_distribution["flag"]
    right.scatter(
        query_xy[:, 0],
        query_xy[:, 1],
        s=160,
        marker="*",
        color="#e45756" if flag else "#54a24b",
        label=f"{report.dataset}{' (out of distribution)' if flag else ''}",
    )
    right.set_xlabel(f"first principal component ({explained[0]:.0%} of variance)")
    right.set_ylabel(f"second principal component ({explained[1]:.0%} of variance)")
    right.set_title("Scaled meta-features, 2-D PCA projection")
    right.legend(loc="best", fontsize=8)
    fig.tight_layout()
    return fig


def plot_report(report: Any, path: Path) -> Path:
    """Draw ``report`` (see :func:`draw_report`) to ``path``; returns the path written."""
    fig = draw_report(report)  # first: it says what to install when matplotlib is missing
    import matplotlib.pyplot as plt

    path = Path(path)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
