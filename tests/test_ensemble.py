"""Ensemble selection: the greedy weights, the weighted ensemble, saving it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sklearn.dummy import DummyClassifier
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.tree import DecisionTreeClassifier

from metarec.tuning.ensemble import (
    WeightedEnsembleClassifier,
    WeightedEnsembleRegressor,
    ensemble,
    select_weights,
)


def _two_class(y: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Probabilities with ``right`` (per row) on the true class."""
    proba = np.empty((len(y), 2))
    proba[np.arange(len(y)), y] = right
    proba[np.arange(len(y)), 1 - y] = 1 - right
    return proba


def test_complementary_pipelines_share_the_weight() -> None:
    y = np.array([0, 1] * 10)
    where = np.arange(20) % 4
    # c is hesitantly wrong on rows 0, 4, 8, ...; a is confidently right there and only
    # hesitantly wrong on rows 2, 6, 10, ...: each alone is right on 75% of the rows, their
    # average on all of them.
    c = _two_class(y, np.where(where == 0, 0.40, 0.60))
    a = _two_class(y, np.select([where == 0, where == 2], [0.95, 0.45], 0.60))
    useless = _two_class(y, np.full(20, 0.30))
    weights = select_weights([useless, c, a], y, "classification", "accuracy", size=10)
    assert weights.sum() == pytest.approx(1.0)
    assert weights[0] == 0 and weights[1] > 0 and weights[2] > 0
    averaged = np.tensordot(weights, np.stack([useless, c, a]), axes=1)
    assert (np.argmax(averaged, axis=1) == y).all()
    # one round is the single best: of the two tied at 75%, a (the higher likelihood of the
    # true class: its mistakes are hesitant)
    assert select_weights([useless, c, a], y, "classification", "accuracy",
                          size=1).tolist() == [0.0, 0.0, 1.0]


def test_regression_weights_average_errors_away() -> None:
    y = np.linspace(0, 1, 30)
    high, low = y + 0.2, y - 0.2
    weights = select_weights([high, low], y, "regression", "r2", size=10)
    assert weights.tolist() == pytest.approx([0.5, 0.5])


def test_unknown_scoring_and_empty_input_are_refused() -> None:
    y = np.array([0, 1])
    with pytest.raises(ValueError, match="scoring"):
        select_weights([np.eye(2)], y, "classification", "brier")
    with pytest.raises(ValueError, match="at least one"):
        select_weights([], y, "classification", "accuracy")


def _data(n: int = 120) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, 4))
    return X, (X[:, 0] + 0.5 * X[:, 1] > 0).astype(int)


def test_an_ensemble_of_one_is_that_pipeline() -> None:
    X, y = _data()
    member = LogisticRegression()
    alone = LogisticRegression().fit(X, y)
    model = ensemble([member, DummyClassifier()], [1.0, 0.0], "classification").fit(X, y)
    assert len(model.estimators_) == 1
    np.testing.assert_array_equal(model.predict(X), alone.predict(X))
    np.testing.assert_allclose(model.predict_proba(X), alone.predict_proba(X))


def test_weighted_average_of_probabilities_and_values() -> None:
    X, y = _data()
    model = WeightedEnsembleClassifier(
        estimators=[LogisticRegression(), DecisionTreeClassifier(max_depth=2, random_state=0)],
        weights=[3, 1]).fit(X, y)
    expected = (0.75 * LogisticRegression().fit(X, y).predict_proba(X)
                + 0.25 * DecisionTreeClassifier(max_depth=2, random_state=0)
                .fit(X, y).predict_proba(X))
    np.testing.assert_allclose(model.predict_proba(X), expected)
    np.testing.assert_array_equal(model.predict(X), np.argmax(expected, axis=1))
    values = X @ np.array([1.0, 2.0, 0.0, 0.0])
    regressor = WeightedEnsembleRegressor(estimators=[LinearRegression(), LinearRegression()],
                                          weights=[1, 1], task="regression").fit(X, values)
    np.testing.assert_allclose(regressor.predict(X), values, atol=1e-9)


def test_bad_weights_are_refused() -> None:
    X, y = _data(20)
    with pytest.raises(ValueError, match="one weight per estimator"):
        WeightedEnsembleClassifier(estimators=[LogisticRegression()], weights=[]).fit(X, y)
    with pytest.raises(ValueError, match="not all zero"):
        WeightedEnsembleClassifier(estimators=[LogisticRegression()], weights=[0]).fit(X, y)


def test_an_ensemble_is_saved_and_loaded_like_a_pipeline(tmp_path: Path) -> None:
    from metarec.pipelines import build
    from metarec.tuning import load_pipeline, save_pipeline

    X, y = _data()
    members = [build({"task": "classification", "algorithm": "logistic_regression"}),
               build({"task": "classification", "algorithm": "random_forest",
                      "hyperparameters": {"n_estimators": 10}}, random_state=0)]
    import pandas as pd

    frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(4)])
    model = ensemble(members, [0.6, 0.4], "classification").fit(frame, y)
    loaded = load_pipeline(save_pipeline(model, tmp_path / "ensemble.skops"))
    np.testing.assert_allclose(loaded.predict_proba(frame), model.predict_proba(frame))


def test_the_search_keeps_out_of_fold_predictions_and_ensembles_them() -> None:
    import pandas as pd

    from metarec.tuning import tune
    from metarec.tuning.ensemble import MIN_ENSEMBLE_CANDIDATES, select_ensemble

    rng = np.random.default_rng(3)
    X = pd.DataFrame(rng.normal(size=(90, 4)), columns=list("abcd"))
    y = np.where(X["a"] + X["b"] ** 2 > 0.5, "yes", "no")
    predictions: dict[int, np.ndarray] = {}
    study, _ = tune(X, y, n_trials=6, cv=3, random_state=0, kb=False, predictions=predictions)
    complete = [t for t in study.trials if t.state.name == "COMPLETE"]
    assert len(complete) >= MIN_ENSEMBLE_CANDIDATES
    for trial in complete:
        if trial.number in predictions:  # pipelines with probabilities
            oof = predictions[trial.number]
            assert oof.shape == (90, 2)
            np.testing.assert_allclose(oof.sum(axis=1), 1.0, atol=1e-6)
    members = select_ensemble(study, predictions, y, "classification", size=20)
    assert members and sum(w for _, w in members) == pytest.approx(1.0)
    assert all(spec["algorithm"] for spec, _ in members)
    assert select_ensemble(study, {}, y, "classification", size=20) == []


def test_the_estimator_fits_the_ensemble_or_the_single_best_as_asked() -> None:
    import pandas as pd

    from metarec import MetaRecClassifier

    rng = np.random.default_rng(4)
    X = pd.DataFrame(rng.normal(size=(80, 3)), columns=["p", "q", "r"])
    y = np.where(X["p"] * X["q"] > 0, 1, 0)
    single = MetaRecClassifier(kb=False, n_trials=5, cv=3, random_state=0,
                               ensemble_size=0).fit(X, y)
    assert single.ensemble_ == [] and type(single.best_pipeline_).__name__ == "Pipeline"
    # an interaction two forests each half-capture: the greedy ensemble takes both
    model = MetaRecClassifier(kb=False, n_trials=5, cv=3, random_state=0).fit(X, y)
    assert isinstance(model.best_pipeline_, WeightedEnsembleClassifier)
    assert len(model.ensemble_) > 1
    assert sum(w for _, w in model.ensemble_) == pytest.approx(1.0)
    proba = model.predict_proba(X)
    assert proba.shape == (80, 2) and np.allclose(proba.sum(axis=1), 1.0)
    assert set(model.predict(X)) <= {0, 1}
    with pytest.raises(ValueError, match="ensemble_size"):
        MetaRecClassifier(kb=False, ensemble_size=-1).fit(X, y)
