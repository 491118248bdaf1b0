"""The classification run campaign: evidence for classification measured by metarec's own
pipelines, with the learners a user reaches for today.

Why it exists: the knowledge base's dense classification evidence (the Oboe matrix) is
scikit-learn of 2018, without LightGBM or histogram gradient boosting, so its portfolio and its
zero-shot pick cannot contain them; ten random draws from metarec's full search space are as
good as its ten best-covering configurations (docs/tuning.md).

What it runs: :func:`portfolio`, 193 configurations of ten classification algorithms (logistic
regression, Gaussian naive Bayes, decision tree, k nearest neighbours, RBF SVM, random forest,
extra trees, histogram gradient boosting, LightGBM, an MLP) on grids around their usual
settings, plus each algorithm's central configuration under every imputer on datasets with
missing values. On what: every classification dataset of the shared data folder (PMLB, and the
LIAC collection's ``classification/`` folder) that metarec itself reads as a classification
table, one copy of each table, at most :data:`~metarec.kb.campaigns.campaign.MAX_ROWS` rows (a
seeded sample of larger ones). Recorded: balanced error rate and error rate (1 - balanced
accuracy, 1 - accuracy), the metrics of the Oboe matrix. How it runs, resumes and what it
writes: :mod:`metarec.kb.campaigns.campaign`::

    python -m metarec.kb.campaigns.classification --out DIR --smallest-first --n-jobs 2
"""

from __future__ import annotations

import sys
from functools import partial
from typing import Any

import pandas as pd

from metarec.kb.campaigns import campaign

SOURCE = "classification_campaign"

# algorithm -> (fixed hyperparameters, grid): the families both campaigns run
# (campaign.SHARED_GRIDS), forests with the classifier's default max_features among their
# grid, and a linear model (C over the range tuning searches), naive Bayes and a single tree
# besides.
GRIDS: dict[str, tuple[dict[str, Any], dict[str, list[Any]]]] = {
    "logistic_regression": ({"max_iter": 1000},
                            {"C": [1e-4, 1e-3, 1e-2, 0.1, 1.0, 10.0, 100.0,
                                   1000.0, 1e4]}),
    "gaussian_nb": ({}, {"var_smoothing": [1e-9, 1e-6, 1e-3]}),
    "decision_tree": ({}, {"max_depth": [None, 5, 10], "min_samples_leaf": [1, 5, 20]}),
    "k_nearest_neighbors": campaign.SHARED_GRIDS["k_nearest_neighbors"],
    "svm": campaign.SHARED_GRIDS["svm"],
    "random_forest": ({"n_estimators": 100}, {"max_features": ["sqrt", 0.2, 0.5, 0.8, 1.0],
                                              "min_samples_leaf": [1, 3, 10]}),
    "extra_trees": ({"n_estimators": 100}, {"max_features": ["sqrt", 0.2, 0.5, 0.8, 1.0],
                                            "min_samples_leaf": [1, 3, 10]}),
    "hist_gradient_boosting": campaign.SHARED_GRIDS["hist_gradient_boosting"],
    "lightgbm": campaign.SHARED_GRIDS["lightgbm"],
    "mlp": campaign.SHARED_GRIDS["mlp"],
}
# Each algorithm's central configuration, run under every imputer where values are missing.
SHARED = campaign.SHARED_ANCHORS
ANCHORS: dict[str, dict[str, Any]] = {
    "logistic_regression": {"C": 1.0}, "gaussian_nb": {"var_smoothing": 1e-9},
    "decision_tree": {"max_depth": None, "min_samples_leaf": 1},
    "k_nearest_neighbors": SHARED["k_nearest_neighbors"], "svm": SHARED["svm"],
    "random_forest": {"max_features": "sqrt", "min_samples_leaf": 1},
    "extra_trees": {"max_features": "sqrt", "min_samples_leaf": 1},
    "hist_gradient_boosting": SHARED["hist_gradient_boosting"], "lightgbm": SHARED["lightgbm"],
    "mlp": SHARED["mlp"],
}


def _metric_values(scores: dict[str, float], y: pd.Series) -> dict[str, float]:
    # Error rates, as the Oboe matrix records them, so both read as the same scores.
    return {"balanced_error_rate": 1.0 - scores["balanced_accuracy"],
            "error_rate": 1.0 - scores["accuracy"]}


CAMPAIGN = campaign.Campaign(
    task="classification", source=SOURCE, module="metarec.kb.campaigns.classification",
    id_prefix="cc", grids=GRIDS, anchors=ANCHORS,
    scoring={"balanced_accuracy": "balanced_accuracy", "accuracy": "accuracy"},
    metrics={"balanced_error_rate": False, "error_rate": False}, metric_values=_metric_values,
    pmlb_task="classification", liac_folder="classification",
    description="metrics balanced_error_rate and error_rate (1 - balanced accuracy, "
                "1 - accuracy)")

portfolio = partial(campaign.portfolio, CAMPAIGN)
select = partial(campaign.select, CAMPAIGN)
load_selection = partial(campaign.load_selection, CAMPAIGN)
run = partial(campaign.run, CAMPAIGN)
main = partial(campaign.main, CAMPAIGN)

if __name__ == "__main__":
    sys.exit(main())
