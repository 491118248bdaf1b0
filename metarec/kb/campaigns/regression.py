"""The regression run campaign: our own evidence for regression, comparable across datasets.

What it runs: :func:`portfolio`, 200 configurations of ten regression algorithms (ridge, lasso,
elastic net, k nearest neighbours, RBF SVR, random forest, extra trees, histogram gradient
boosting, LightGBM, an MLP) on grids around their usual settings, plus each algorithm's central
configuration under every imputer on datasets with missing values. On what: every regression
dataset of the shared data folder (PMLB, and the LIAC collection's ``regression/`` folder) that
metarec itself reads as a regression table, one copy of each table, at most
:data:`~metarec.kb.campaigns.campaign.MAX_ROWS` rows (a seeded sample of larger ones). Recorded:
R² and RMSE divided by the target's standard deviation (both comparable across datasets). How it
runs, resumes and what it writes: :mod:`metarec.kb.campaigns.campaign`::

    python -m metarec.kb.campaigns.regression --out /data/campaign-regression
    python -m metarec.kb.campaigns.regression --out DIR --backend dask --n-jobs 2
    python -m metarec.kb.campaigns.regression --out DIR --scheduler tcp://10.0.0.5:8786
"""

from __future__ import annotations

import sys
from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from metarec.kb.campaigns import campaign

SOURCE = "regression_campaign"

# algorithm -> (fixed hyperparameters, grid): penalised linear models and forests of its own, the
# families both campaigns run from campaign.SHARED_GRIDS; in this order, which the portfolio
# takes in turn. Each grid spans the setting that matters most for the family (regularisation,
# tree size) around the library default.
GRIDS: dict[str, tuple[dict[str, Any], dict[str, list[Any]]]] = {
    "ridge": ({}, {"alpha": [1e-3, 1e-2, 0.1, 1.0, 10.0, 100.0, 1000.0]}),
    "lasso": ({"max_iter": 5000}, {"alpha": [1e-4, 1e-3, 1e-2, 0.1, 1.0, 10.0]}),
    "elastic_net": ({"max_iter": 5000}, {"alpha": [1e-3, 1e-2, 0.1, 1.0, 10.0],
                                        "l1_ratio": [0.1, 0.5, 0.9]}),
    "k_nearest_neighbors": campaign.SHARED_GRIDS["k_nearest_neighbors"],
    "svm": campaign.SHARED_GRIDS["svm"],
    "random_forest": ({"n_estimators": 100}, {"max_features": [0.2, 0.33, 0.5, 0.7, 1.0],
                                              "min_samples_leaf": [1, 3, 10]}),
    "extra_trees": ({"n_estimators": 100}, {"max_features": [0.2, 0.33, 0.5, 0.7, 1.0],
                                            "min_samples_leaf": [1, 3, 10]}),
    "hist_gradient_boosting": campaign.SHARED_GRIDS["hist_gradient_boosting"],
    "lightgbm": campaign.SHARED_GRIDS["lightgbm"],
    "mlp": campaign.SHARED_GRIDS["mlp"],
}
# Each algorithm's central configuration, run under every imputer where values are missing.
SHARED = campaign.SHARED_ANCHORS
ANCHORS: dict[str, dict[str, Any]] = {
    "ridge": {"alpha": 1.0}, "lasso": {"alpha": 1e-2}, "elastic_net": {"alpha": 0.1,
                                                                       "l1_ratio": 0.5},
    "k_nearest_neighbors": SHARED["k_nearest_neighbors"], "svm": SHARED["svm"],
    "random_forest": {"max_features": 0.5, "min_samples_leaf": 1},
    "extra_trees": {"max_features": 1.0, "min_samples_leaf": 1},
    "hist_gradient_boosting": SHARED["hist_gradient_boosting"], "lightgbm": SHARED["lightgbm"],
    "mlp": SHARED["mlp"],
}


def _metric_values(scores: dict[str, float], y: pd.Series) -> dict[str, float]:
    # RMSE over the target's spread is comparable across datasets; raw RMSE is not.
    return {"r2": scores["r2"],
            "rmse_over_std": -scores["rmse"] / float(np.std(y.to_numpy(dtype=float)))}


CAMPAIGN = campaign.Campaign(
    task="regression", source=SOURCE, module="metarec.kb.campaigns.regression", id_prefix="rc",
    grids=GRIDS, anchors=ANCHORS, scoring={"r2": "r2", "rmse": "neg_root_mean_squared_error"},
    metrics={"r2": True, "rmse_over_std": False}, metric_values=_metric_values,
    pmlb_task="regression", liac_folder="regression",
    description="metrics r2 and rmse_over_std (RMSE / the target's standard deviation)")

portfolio = partial(campaign.portfolio, CAMPAIGN)
select = partial(campaign.select, CAMPAIGN)
load_selection = partial(campaign.load_selection, CAMPAIGN)
run = partial(campaign.run, CAMPAIGN)
main = partial(campaign.main, CAMPAIGN)

if __name__ == "__main__":
    sys.exit(main())
