"""A learned surrogate: LightGBM over (meta-features, configuration features) -> normalised score.

One row per (dataset, configuration) run. Because configurations enter as features (algorithm
one-hot, numeric hyperparameters), the model scores configurations that were never run on
similar data, or never run at all. An ensemble of members, each trained on a different subsample
of *datasets*, gives the uncertainty: their disagreement is large where the knowledge base is thin.
Two small dataset-level models predict each dataset's score location and scale, which turn the
normalised prediction back into a score on the original scale.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from metarec.metalearner.models import LocationScale, Prediction
from metarec.metalearner.targets import NormalisedScores, standardise_rows

Objective = Literal["regression", "lambdarank"]
_RELEVANCE_LEVELS = 16


def _relevance(z: np.ndarray, observed: np.ndarray) -> np.ndarray:
    """Integer relevance labels per dataset for lambdarank: within-dataset rank in 16 levels."""
    labels = np.zeros(z.shape, dtype=np.int64)
    for i in range(z.shape[0]):
        cols = np.flatnonzero(observed[i])
        if cols.size == 0:
            continue
        ranks = np.argsort(np.argsort(z[i, cols], kind="stable"), kind="stable")
        labels[i, cols] = (ranks * _RELEVANCE_LEVELS) // max(cols.size, 1)
    return labels


class Surrogate:
    """Ensemble of LightGBM models; see the module docstring."""

    def __init__(self, objective: Objective = "regression", n_members: int = 4,
                 n_estimators: int = 200, learning_rate: float = 0.05, num_leaves: int = 31,
                 min_child_samples: int = 20, colsample_bytree: float = 0.5,
                 dataset_fraction: float = 0.8, n_jobs: int = 1,
                 random_state: int = 0) -> None:
        self.objective = objective
        self.n_members = n_members
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_child_samples = min_child_samples
        self.colsample_bytree = colsample_bytree
        self.dataset_fraction = dataset_fraction
        self.n_jobs = n_jobs
        self.random_state = random_state

    def _params(self, seed: int) -> dict:
        return dict(n_estimators=self.n_estimators, learning_rate=self.learning_rate,
                    num_leaves=self.num_leaves, min_child_samples=self.min_child_samples,
                    colsample_bytree=self.colsample_bytree, subsample=0.8, subsample_freq=1,
                    reg_lambda=1.0, n_jobs=self.n_jobs, random_state=seed, verbose=-1)

    def fit(self, features: np.ndarray, configurations: np.ndarray,
            normalised: NormalisedScores, categorical_configuration: bool) -> Surrogate:
        z = normalised.z
        observed = ~np.isnan(z)
        rows, cols = np.nonzero(observed)  # row-major: each dataset's runs are contiguous
        x = np.hstack([features[rows], configurations[cols]]).astype(np.float32)
        self.n_meta_ = features.shape[1]
        self.categorical_ = [self.n_meta_] if categorical_configuration else "auto"
        rng = np.random.RandomState(self.random_state)
        n_ds = z.shape[0]
        labels = _relevance(z, observed)[rows, cols] if self.objective == "lambdarank" else None
        from lightgbm import Booster, LGBMRanker, LGBMRegressor

        self.members_: list[Booster] = []
        oob_sq: list[np.ndarray] = []
        for _ in range(self.n_members):
            seed = int(rng.randint(0, 2**31 - 1))
            if self.n_members > 1:
                size = max(2, int(round(self.dataset_fraction * n_ds)))
                chosen = np.sort(rng.choice(n_ds, size=min(size, n_ds), replace=False))
            else:
                chosen = np.arange(n_ds)
            mask = np.isin(rows, chosen)
            if self.objective == "lambdarank":
                group = np.bincount(rows[mask], minlength=n_ds)
                group = group[group > 0]
                model = LGBMRanker(objective="lambdarank",
                                   label_gain=list(range(_RELEVANCE_LEVELS)),
                                   lambdarank_truncation_level=20, **self._params(seed))
                model.fit(x[mask], labels[mask], group=group,
                          categorical_feature=self.categorical_)
            elif self.objective == "regression":
                model = LGBMRegressor(objective="regression", **self._params(seed))
                model.fit(x[mask], z[rows[mask], cols[mask]],
                          categorical_feature=self.categorical_)
            else:
                raise ValueError(f"unknown objective {self.objective!r}; "
                                 "use 'regression' or 'lambdarank'.")
            # The booster alone predicts what the wrapper predicts, and is stored as LightGBM's
            # own text model (the scikit-learn wrapper would need skops, ~3 s to import).
            self.members_.append(model.booster_)
            if self.objective == "regression" and (~mask).any():
                oob_sq.append((model.predict(x[~mask]) - z[rows[~mask], cols[~mask]]) ** 2)
        # Members disagree less than they err: the out-of-bag error (on datasets a member never
        # saw) adds the part of the error the spread misses, as one knowledge-base-wide term.
        self.oob_rmse_ = float(np.sqrt(np.mean(np.concatenate(oob_sq)))) if oob_sq else 0.0
        probe = rng.choice(len(x), size=min(len(x), 5000), replace=False)
        member_out = np.stack([m.predict(x[probe]) for m in self.members_])
        self.mean_spread_ = float(np.sqrt(np.mean(member_out.var(axis=0))))
        self.scale_model_ = LocationScale(self.n_jobs, self.random_state).fit(features, normalised)
        return self

    def predict(self, features: np.ndarray, configurations: np.ndarray) -> Prediction:
        n_new, n_cfg = len(features), len(configurations)
        x = np.hstack([np.repeat(features, n_cfg, axis=0),
                       np.tile(configurations, (n_new, 1))]).astype(np.float32)
        outs = np.stack([m.predict(x).reshape(n_new, n_cfg) for m in self.members_])
        if self.objective == "lambdarank":
            # ranker scores have no unit: express each member's in per-dataset standard units
            outs = np.stack([standardise_rows(o) for o in outs])
        z = outs.mean(axis=0)
        spread = outs.std(axis=0)
        extra = max(self.oob_rmse_**2 - self.mean_spread_**2, 0.0)
        spread = np.sqrt(spread**2 + extra)
        location, scale = self.scale_model_.predict(features)
        return Prediction(z=z, score=location + scale * z, uncertainty=scale * spread)
