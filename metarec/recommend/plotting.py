"""``metarec recommend --plot``: the ranking with uncertainty, and where the dataset sits.

matplotlib is an optional dependency (the ``plot`` extra); it is imported only here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from metarec.errors import MetaRecError


def _projection(reference: np.ndarray, query: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """2-D PCA of the knowledge base's scaled meta-features, with the query projected into it."""
    from sklearn.decomposition import PCA

    pca = PCA(n_components=2, random_state=0).fit(reference)
    return pca.transform(reference), pca.transform(query)


def plot_report(report: Any, path: Path) -> Path:
    """Draw ``report``'s ranking and where its dataset sits among the knowledge base's datasets
    (as the meta-learner that made the report compares them) to ``path``."""
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
    kb_xy, query_xy = _projection(reference, query)

    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 5))
    recs = report.recommendations
    labels = [f"{r['rank']}. {r['algorithm']} / {r['imputer']}" for r in recs][::-1]
    scores = [r["predicted_score"] for r in recs][::-1]
    errors = [r["uncertainty"] for r in recs][::-1]
    left.barh(labels, scores, xerr=errors, color="#4c78a8", ecolor="#333333", capsize=4)
    left.set_xlabel(f"predicted {report.evidence.score_name} (± uncertainty)")
    low = min(s - e for s, e in zip(scores, errors, strict=True))
    high = max(s + e for s, e in zip(scores, errors, strict=True))
    left.set_xlim(max(0.0, low - 0.05), min(1.0, high + 0.05) if high <= 1 else high + 0.05)
    left.set_title("Recommendations")

    right.scatter(kb_xy[:, 0], kb_xy[:, 1], s=12, color="#bbbbbb", label="knowledge base")
    near = pd.Index(learner.datasets_).get_indexer([n["dataset_id"] for n in report.neighbours])
    near = near[near >= 0]
    right.scatter(kb_xy[near, 0], kb_xy[near, 1], s=40, color="#f58518", label="nearest")
    for i, n in zip(near, report.neighbours, strict=False):
        right.annotate(n["name"] or n["dataset_id"], kb_xy[i], fontsize=8)
    flag = report.out_of_distribution["flag"]
    right.scatter(
        query_xy[:, 0],
        query_xy[:, 1],
        s=160,
        marker="*",
        color="#e45756" if flag else "#54a24b",
        label=f"{report.dataset}{' (out of distribution)' if flag else ''}",
    )
    right.set_title("Meta-features, 2-D PCA projection")
    right.legend(loc="best", fontsize=8)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
