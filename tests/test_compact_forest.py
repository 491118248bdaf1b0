"""CompactForest predicts exactly what the scikit-learn forest it was built from predicts."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.ensemble import ExtraTreesRegressor, RandomForestRegressor

from metarec.metalearner.compact_forest import CompactForest


@pytest.mark.parametrize("missing", [0.0, 0.2])
@pytest.mark.parametrize("n_outputs", [1, 3])
def test_same_predictions_as_the_fitted_forest(missing, n_outputs):
    rng = np.random.RandomState(0)
    X = rng.rand(120, 5)
    y = np.column_stack([X[:, 0] * (i + 1) + rng.rand(120) * 0.1 for i in range(n_outputs)])
    X[rng.rand(*X.shape) < missing] = np.nan
    forest = ExtraTreesRegressor(n_estimators=25, max_features=0.6, min_samples_leaf=2,
                                 random_state=0).fit(X, y if n_outputs > 1 else y.ravel())
    compact = CompactForest(forest, X, y)
    X_new = rng.rand(40, 5)
    X_new[rng.rand(*X_new.shape) < max(missing, 0.1)] = np.nan  # unseen-missing features too
    expected = forest.predict(X_new).reshape(len(X_new), -1)
    np.testing.assert_allclose(compact.predict(X_new), expected, rtol=1e-10, atol=1e-12)


def test_a_bootstrapped_forest_is_refused():
    X, y = np.random.RandomState(1).rand(30, 2), np.arange(30.0)
    forest = RandomForestRegressor(n_estimators=3, random_state=0).fit(X, y)
    with pytest.raises(ValueError, match="bootstrapped"):
        CompactForest(forest, X, y)
