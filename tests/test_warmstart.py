"""Search space mapping, warm start (enqueued trials come first), tuning and its failure modes."""

from __future__ import annotations

import json
import math

import numpy as np
import optuna
import pandas as pd
import pytest
from threadpoolctl import threadpool_limits

from metarec.errors import DataError, MetaRecError
from metarec.pipelines import build
from metarec.recommend import default_portfolio, single_best_recommendations
from metarec.tuning import (
    TuningError,
    balanced_class_weight,
    load_pipeline,
    open_storage,
    recommended_space,
    save_pipeline,
    tune,
    warm_sampler,
    warm_start,
    warm_start_params,
)
from metarec.tuning.space import ALGORITHM_PARAM, build_space, kb_ranges

optuna.logging.set_verbosity(optuna.logging.ERROR)


@pytest.fixture(autouse=True)
def _one_thread():
    # OpenMP estimators (histogram boosting, LightGBM) crawl when the machine is oversubscribed.
    with threadpool_limits(limits=1):
        yield


def _data(n: int = 60, seed: int = 0) -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n),
                      "c": pd.Categorical(rng.choice(["u", "v"], n))})
    y = pd.Series(np.where(X["a"] + (X["c"] == "u") > 0.5, "yes", "no"), name="label")
    return X, y


def _recs(specs: list[dict]) -> list[dict]:
    """A local stand-in for the recommender's output shape."""
    return [{"rank": i + 1, "algorithm": s["algorithm"], "imputer": s.get("imputer", "mean"),
             "hyperparameters": s.get("hyperparameters", {}), "pipeline": s,
             "predicted_score": 0.9 - 0.01 * i, "uncertainty": 0.05}
            for i, s in enumerate(specs)]


def _spec(algorithm: str, task: str = "classification", **hp: object) -> dict:
    return {"task": task, "algorithm": algorithm, "hyperparameters": hp}


# -- search space ---------------------------------------------------------------------------
@pytest.mark.parametrize("task", ["classification", "regression"])
def test_every_algorithm_maps_both_ways_inside_the_distributions(task: str) -> None:
    space = build_space(task, has_missing=True)
    dists = space.distributions()
    for algorithm in space.algorithms:
        params = space.spec_to_params(_spec(algorithm, task), n_samples=100, n_features=4)
        assert params is not None and params[ALGORITHM_PARAM] == algorithm
        for name, value in params.items():
            dist = dists[name]
            assert dist._contains(dist.to_internal_repr(value)), (name, value)
        spec = space.params_to_spec(params)
        assert spec["algorithm"] == algorithm
        # The spec round-trips to the same point and builds a pipeline.
        assert space.spec_to_params(spec, n_samples=100, n_features=4) == params
        build(spec)


def test_out_of_range_values_are_clipped_and_units_converted() -> None:
    space = build_space("classification", has_missing=False)
    params = space.spec_to_params(
        _spec("random_forest", n_estimators=100000, max_features="sqrt", min_samples_split=0.1),
        n_samples=200, n_features=16,
    )
    assert params is not None
    n_est = space.distributions()["random_forest:n_estimators"]
    assert params["random_forest:n_estimators"] == n_est.high
    assert params["random_forest:max_features"] == pytest.approx(4 / 16)
    assert params["random_forest:min_samples_split"] == 20
    assert "imputer" not in params  # no missing values: the imputer is not searched
    svm = space.spec_to_params(_spec("svm", gamma="auto", kernel="rbf"), n_features=8)
    assert svm is not None and svm["svm:gamma"] == pytest.approx(1 / 8)
    assert "svm:degree" not in svm  # conditional on kernel="poly"


def test_kb_ranges_widen_bounds_within_hard_limits() -> None:
    configs = pd.DataFrame({
        "task_type": ["classification"] * 3,
        "algorithm": ["svm", "svm", "random_forest"],
        # 1e9 lies beyond C's hard limit; 0.001 is a fraction, not a count of samples.
        "hyperparameters": [json.dumps({"C": 1e5}), json.dumps({"C": 1e9}),
                            json.dumps({"min_samples_split": 0.001})],
    })
    ranges = kb_ranges(configs)
    assert ranges[("classification", "svm", "C")] == (1e5, 1e9)
    space = build_space("classification", ranges=ranges)
    c = next(p for p in space.params["svm"] if p.name == "C")
    assert c.high == 1e6  # widened to the KB's range, capped at the hard limit
    mss = next(p for p in space.params["random_forest"] if p.name == "min_samples_split")
    assert mss.low == 2


def test_algorithms_outside_the_space_are_not_mapped() -> None:
    space = build_space("regression")
    assert space.spec_to_params(_spec("gaussian_process", "regression")) is None


# -- recommendations fallback ---------------------------------------------------------------
class _TinyKB:
    """Two configurations run on six datasets: the fallback must rank the better one first."""

    path = "tiny-kb"

    def __init__(self) -> None:
        good = json.dumps(_spec("extra_trees", n_estimators=50))
        bad = json.dumps(_spec("k_nearest_neighbors", n_neighbors=3))
        self.configurations = pd.DataFrame({
            "configuration_id": ["good", "bad"], "task_type": ["classification"] * 2,
            "algorithm": ["extra_trees", "k_nearest_neighbors"], "spec": [good, bad],
            "hyperparameters": [json.dumps({"n_estimators": 50}), json.dumps({"n_neighbors": 3})],
        })
        rows = [(f"d{i}", cid, err) for i in range(6)
                for cid, err in (("good", 0.1 + 0.01 * i), ("bad", 0.3))]
        self.runs = pd.DataFrame(rows, columns=["dataset_id", "configuration_id", "value"]).assign(
            metric="balanced_error_rate", higher_is_better=False, source="oboe")


def test_single_best_fallback_ranks_by_mean_normalised_score() -> None:
    recs = single_best_recommendations(_TinyKB(), "classification", top_k=3)
    assert [r["algorithm"] for r in recs[:2]] == ["extra_trees", "k_nearest_neighbors"]
    assert recs[0]["predicted_score"] == 1.0 and recs[1]["predicted_score"] == 0.0
    assert [r["rank"] for r in recs] == [1, 2, 3]
    assert recs[2]["source"] == "default portfolio"  # filled from robust defaults


# -- warm start -----------------------------------------------------------------------------
def test_warm_start_enqueues_top_k_first_in_rank_order() -> None:
    space = build_space("classification", has_missing=False)
    recs = _recs([_spec("random_forest", n_estimators=30), _spec("gaussian_process"),
                  _spec("logistic_regression", C=0.5), _spec("random_forest", n_estimators=30),
                  _spec("k_nearest_neighbors", n_neighbors=7), _spec("svm", C=2.0)])
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.RandomSampler(0))
    enqueued = warm_start(study, list(reversed(recs)), k=3, space=space)
    # gaussian_process is not searched and the repeated random forest is a duplicate.
    assert [p[ALGORITHM_PARAM] for p in enqueued] == [
        "random_forest", "logistic_regression", "k_nearest_neighbors"]
    study.optimize(lambda t: float(len(space.suggest(t)["algorithm"])), n_trials=4)
    first = [t.params for t in study.trials[:3]]
    assert first == enqueued
    assert study.trials[2].params["k_nearest_neighbors:n_neighbors"] == 7


def test_warm_start_covers_algorithms_first_and_translates_for_tuning() -> None:
    space = build_space("classification", has_missing=False)
    recs = _recs([_spec("gradient_boosting", learning_rate=0.25),
                  _spec("gradient_boosting", learning_rate=0.05),
                  _spec("random_forest", n_estimators=10),
                  _spec("logistic_regression", C=0.5, class_weight=None),
                  _spec("svm", C=2.0, class_weight="balanced")])
    pairs = warm_start_params(recs, k=4, space=space, class_weight="balanced")
    # The best of each algorithm first, in rank order; the second boosting config comes last.
    assert [position for position, _ in pairs] == [1, 2, 3, 4]
    params = [p for _, p in pairs]
    assert [p[ALGORITHM_PARAM] for p in params] == [
        "gradient_boosting", "random_forest", "logistic_regression", "svm"]
    # KB forests were run with 10 trees: at least scikit-learn's default (100) is evaluated.
    assert params[1]["random_forest:n_estimators"] == 100
    # Class weighting that the recommendation leaves open follows the balanced score.
    assert params[1]["random_forest:class_weight"] == "balanced"
    assert params[2]["logistic_regression:class_weight"] == "balanced"
    assert params[2]["logistic_regression:C"] == 0.5
    # Without the hint the recommendation's own (default) weighting is kept.
    plain = warm_start_params(recs, k=5, space=space)
    assert plain[1][1]["random_forest:class_weight"] is None
    assert plain[4][1]["gradient_boosting:learning_rate"] == 0.05


def test_the_recommended_set_is_tried_before_the_top_recommendations() -> None:
    space = build_space("classification", has_missing=False)
    recs = _recs([_spec("svm", C=2.0), _spec("gaussian_nb"),
                  _spec("logistic_regression", C=0.5)])
    # the set: the portfolio's order, one member also among the recommendations
    candidate_set = _recs([_spec("decision_tree", max_depth=3),
                           _spec("logistic_regression", C=0.5)])
    pairs = warm_start_params(recs, k=4, space=space, candidate_set=candidate_set)
    assert [p[ALGORITHM_PARAM] for _, p in pairs] == [
        "decision_tree", "logistic_regression", "svm", "gaussian_nb"]
    assert [position for position, _ in pairs] == [1, 2, 3, 4]
    X, y = _data(80)
    study, _ = tune(X, y, recs, n_trials=4, cv=2, random_state=0, kb=False, k=3,
                    candidate_set=candidate_set)
    assert [t.params[ALGORITHM_PARAM] for t in study.trials[:3]] == [
        "decision_tree", "logistic_regression", "svm"]


def test_class_weight_hint_needs_a_balanced_score_and_imbalanced_classes() -> None:
    skewed = ["a"] * 80 + ["b"] * 20
    assert balanced_class_weight(skewed, "balanced_accuracy")
    assert not balanced_class_weight(skewed, "accuracy")
    assert not balanced_class_weight(["a"] * 50 + ["b"] * 45, "balanced_accuracy")


def _record_model_proposals(sampler: optuna.samplers.BaseSampler,
                            proposed: dict[int, set[str]]) -> None:
    """Record, per trial number, the parameters ``sampler`` proposes from its model: TPE's
    relative sampling proposes nothing during its random start-up phase (and is not asked for
    enqueued trials)."""
    real = sampler.sample_relative

    def spy(study, trial, search_space):
        params = real(study, trial, search_space)
        proposed[trial.number] = set(params)
        return params

    sampler.sample_relative = spy


def _toy_study(sampler: optuna.samplers.BaseSampler, n_warm: int,
               n_trials: int) -> dict[int, set[str]]:
    """Two algorithms, each with its own parameter; ``n_warm`` enqueued trials first."""
    proposed: dict[int, set[str]] = {}
    _record_model_proposals(sampler, proposed)
    study = optuna.create_study(direction="maximize", sampler=sampler)
    for i in range(n_warm):
        algorithm = "ab"[i % 2]
        study.enqueue_trial({"algorithm": algorithm, f"{algorithm}:v": 0.9 - 0.01 * i})

    def objective(trial: optuna.Trial) -> float:
        algorithm = trial.suggest_categorical("algorithm", ["a", "b"])
        return -(trial.suggest_float(f"{algorithm}:v", 0, 1) - 0.9) ** 2 - (algorithm == "b")

    study.optimize(objective, n_trials=n_trials)
    return proposed


def test_warm_sampler_models_right_after_the_warm_trials() -> None:
    # Warm: the 7 warm trials are the start-up phase; the model proposes from trial 7 on.
    warm = _toy_study(warm_sampler(0, n_warm=7), n_warm=7, n_trials=9)
    assert [n for n, params in sorted(warm.items()) if params] == [7, 8]
    # Cold: Optuna's standard TPE, whose 10 random start-up trials count enqueued ones too.
    cold = _toy_study(warm_sampler(0, n_warm=0), n_warm=7, n_trials=12)
    assert [n for n, params in sorted(cold.items()) if params] == [10, 11]
    # Multivariate and grouped: each algorithm's conditional parameter is modelled with it.
    assert warm[7] == cold[10] == {"algorithm", "a:v", "b:v"}


def test_tune_runs_the_warm_trials_first_then_the_model(monkeypatch) -> None:
    from metarec.tuning import study as study_module

    proposed: dict[int, set[str]] = {}
    real_sampler = study_module.warm_sampler

    def recorded_sampler(*args, **kwargs):
        sampler = real_sampler(*args, **kwargs)
        _record_model_proposals(sampler, proposed)
        return sampler

    monkeypatch.setattr(study_module, "warm_sampler", recorded_sampler)
    X, y = _data(80)
    recs = _recs([_spec("logistic_regression", C=0.5), _spec("logistic_regression", C=2.0),
                  _spec("gaussian_nb"), _spec("decision_tree", max_depth=3)])
    study, _ = tune(X, y, recs, n_trials=5, cv=2, random_state=0, kb=False, k=3)
    ranks = [t.user_attrs.get("metarec:warm_start_rank") for t in study.trials]
    assert ranks == [1, 2, 3, None, None]
    assert [t.params[ALGORITHM_PARAM] for t in study.trials[:3]] == [
        "logistic_regression", "gaussian_nb", "decision_tree"]
    assert study.trials[0].params["logistic_regression:C"] == 0.5
    # The trial right after the three warm ones is proposed by TPE's model, not at random.
    assert [n for n, params in sorted(proposed.items()) if params] == [3, 4]
    assert ALGORITHM_PARAM in proposed[3]


def test_recommended_space_keeps_the_recommended_algorithms_whole() -> None:
    space = build_space("classification", has_missing=False)
    recs = _recs([_spec("svm"), _spec("random_forest"), _spec("svm", C=2.0), _spec("mlp")])
    narrowed = recommended_space(space, recs)
    assert set(narrowed.algorithms) == {"svm", "random_forest", "mlp"}
    assert narrowed.params["svm"] == space.params["svm"]
    assert list(narrowed.algorithms) == [a for a in space.algorithms if a in narrowed.algorithms]
    # Two families are too few to bet a study on: the full space stays.
    assert recommended_space(space, recs[:3]) is space


def test_tune_searches_the_full_space_unless_told_to_narrow_it() -> None:
    X, y = _data(80)
    recs = _recs([_spec("logistic_regression"), _spec("gaussian_nb"), _spec("decision_tree")])
    study, _ = tune(X, y, recs, n_trials=6, cv=2, random_state=0, kb=False, k=1,
                    search_space="recommended")
    named = {"logistic_regression", "gaussian_nb", "decision_tree"}
    assert {t.params["algorithm"] for t in study.trials} <= named
    assert set(study.trials[-1].distributions["algorithm"].choices) == named
    full, _ = tune(X, y, recs, n_trials=2, cv=2, random_state=0, kb=False, k=1)
    assert len(full.trials[-1].distributions["algorithm"].choices) > 10
    with pytest.raises(TuningError, match="search space"):
        tune(X, y, recs, n_trials=1, kb=False, search_space="everything")


def test_a_shared_study_keeps_the_algorithms_it_was_created_with(tmp_path) -> None:
    X, y = _data(80)
    url = str(tmp_path / "study.db")
    first = _recs([_spec("logistic_regression"), _spec("gaussian_nb"), _spec("decision_tree")])
    other = _recs([_spec("svm"), _spec("mlp"), _spec("random_forest")])
    tune(X, y, first, n_trials=2, cv=2, storage=url, study_name="s", kb=False,
         search_space="recommended")
    # A second process ranking differently joins the study instead of failing on Optuna's
    # "dynamic value space" error, and searches what the study searches.
    study, _ = tune(X, y, other, n_trials=2, cv=2, storage=url, study_name="s", kb=False,
                    search_space="recommended")
    assert len(study.trials) == 4
    assert {t.params["algorithm"] for t in study.trials} <= {
        "logistic_regression", "gaussian_nb", "decision_tree"}


def test_svm_trials_have_an_iteration_limit() -> None:
    space = build_space("classification", has_missing=False)
    params = space.spec_to_params(_spec("svm", C=30000.0, gamma=8.0, kernel="poly", degree=5))
    model = build(space.params_to_spec(params)).named_steps["model"]
    assert 0 < model.max_iter <= 10_000_000


# -- tuning ---------------------------------------------------------------------------------
def test_tune_scores_trials_records_failures_and_returns_best_spec() -> None:
    X, y = _data()
    # 64 neighbours cannot be found among ~40 training rows: that trial must fail, not stop.
    recs = _recs([_spec("k_nearest_neighbors", n_neighbors=64),
                  _spec("logistic_regression", C=1.0)])
    study, best = tune(X, y, recs, n_trials=3, cv=2, random_state=0, kb=False)
    states = [t.state for t in study.trials]
    assert states[0] == optuna.trial.TrialState.FAIL
    assert "metarec:error" in study.trials[0].user_attrs
    assert states.count(optuna.trial.TrialState.COMPLETE) == 2
    assert 0.0 <= study.best_value <= 1.0
    assert best["algorithm"] == study.best_trial.params["algorithm"]
    build(best).fit(X, y)


def test_tune_regression_uses_r2() -> None:
    X, _ = _data(40)
    y = X["a"] * 2.0 + X["b"]
    study, best = tune(X, y, _recs([_spec("ard_regression", "regression")]), n_trials=1,
                       cv=2, kb=False)
    assert study.user_attrs["metarec:scoring"] == "r2"
    assert study.best_value > 0.5 and best["task"] == "regression"


def test_zero_trials_returns_the_top_recommendation() -> None:
    X, y = _data()
    study, best = tune(X, y, _recs([_spec("gaussian_nb")]), n_trials=0, cv=2, kb=False)
    assert best["algorithm"] == "gaussian_nb" and len(study.trials) == 0
    # Translated as a warm-start trial would be: imbalanced classes, balanced score.
    y_rare = pd.Series(np.where(np.arange(len(X)) < 10, "rare", "common"))
    _, forest = tune(X, y_rare, _recs([_spec("random_forest", n_estimators=10)]), n_trials=0,
                     cv=2, kb=False)
    assert forest["hyperparameters"] == {"n_estimators": 100,
                                         "class_weight": "balanced"}


@pytest.mark.parametrize("n_trials", [-1, -10])
def test_negative_trials_are_refused(n_trials: int) -> None:
    X, y = _data()
    with pytest.raises(TuningError, match="zero or more"):
        tune(X, y, n_trials=n_trials, kb=False)


def test_unfittable_data_is_refused_with_a_sentence() -> None:
    X, y = _data()
    with pytest.raises(DataError, match="only one class"):
        tune(X, pd.Series(["a"] * len(X)), n_trials=1, kb=False)
    with pytest.raises(DataError, match="no feature columns"):
        tune(X.iloc[:, :0], y, n_trials=1, kb=False)


def test_study_with_another_direction_is_refused(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'studies.db'}"
    optuna.create_study(storage=url, study_name="s", direction="minimize")
    X, y = _data()
    with pytest.raises(TuningError, match="minimises"):
        tune(X, y, n_trials=1, storage=url, study_name="s", kb=False)


@pytest.mark.parametrize("url", ["nosuchdialect://host/db", "sqlite:////nonexistent/dir/x.db"])
def test_unusable_storage_is_refused(url: str) -> None:
    X, y = _data()
    with pytest.raises(TuningError, match="storage"):
        tune(X, y, n_trials=1, storage=url, kb=False)


@pytest.mark.parametrize("url", ["nosuchdialect://host/db", "postgresql://metarec@127.0.0.1:1/x"])
def test_search_checks_the_storage_before_it_recommends(url: str, monkeypatch) -> None:
    import metarec.tuning.search as search_module

    def never(*args: object, **kwargs: object) -> None:
        raise AssertionError("recommendations were computed before the storage was checked")

    monkeypatch.setattr(search_module, "recommendations_for", never)
    X, y = _data()
    with pytest.raises(TuningError, match="storage"):
        search_module.search(X, y, "classification", n_trials=1, storage=url, kb=False)


def test_search_refuses_a_minimising_study_before_it_recommends(tmp_path, monkeypatch) -> None:
    import metarec.tuning.search as search_module

    url = f"sqlite:///{tmp_path / 'studies.db'}"
    optuna.create_study(storage=url, study_name="s", direction="minimize")
    monkeypatch.setattr(search_module, "recommendations_for", None)  # calling it would fail
    X, y = _data()
    with pytest.raises(TuningError, match="minimises"):
        search_module.search(X, y, "classification", n_trials=1, storage=url, study_name="s")


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://metarec@db.example.org:5432/studies",
         "postgresql://metarec@db.example.org:5432/studies"),
        ("postgresql://metarec:change-me@db:5432/studies", "postgresql://metarec:***@db:5432/studies"),
        ("postgresql://metarec:p@ss@db/studies", "postgresql://metarec:***@db/studies"),
        ("postgresql://metarec@db/studies?sslmode=require&password=change-me",
         "postgresql://metarec@db/studies?sslmode=require&password=***"),
    ],
)
def test_an_unusable_storage_is_named_without_its_password(url: str, shown: str, monkeypatch):
    import sys

    # Without the driver, opening fails at once with the URL in the message.
    monkeypatch.setitem(sys.modules, "psycopg", None)
    with pytest.raises(TuningError) as caught:
        open_storage(url)
    message = str(caught.value)
    assert f"the storage {shown} needs" in message
    assert "change-me" not in message and "`pip install 'metarec[postgres]'`" in message


def test_study_in_sqlite_is_resumed_without_duplicate_warm_starts(tmp_path) -> None:
    X, y = _data()
    recs = _recs([_spec("gaussian_nb"), _spec("logistic_regression")])
    path = tmp_path / "study.db"  # a plain path means an SQLite file
    tune(X, y, recs, n_trials=2, cv=2, storage=str(path), study_name="s", kb=False)
    study, _ = tune(X, y, recs, n_trials=1, cv=2, storage=str(path), study_name="s", kb=False)
    assert len(study.trials) == 3
    warm = [t for t in study.trials if "metarec:warm_start_rank" in t.user_attrs]
    assert len(warm) == 2


# -- saving ---------------------------------------------------------------------------------
def _double(X: object) -> object:
    return X


def test_pipelines_round_trip_through_skops_and_unknown_types_are_refused(tmp_path) -> None:
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    X, y = _data()
    fitted = build({"task": "classification", "algorithm": "lightgbm",
                    "hyperparameters": {"n_estimators": 5}}).fit(X, y)
    path = save_pipeline(fitted, tmp_path / "model.skops")
    loaded = load_pipeline(path)
    np.testing.assert_array_equal(loaded.predict(X), fitted.predict(X))
    with pytest.raises(MetaRecError, match="already exists"):
        save_pipeline(fitted, path)
    # A function from outside metarec is exactly what a hostile file would smuggle in.
    odd = make_pipeline(FunctionTransformer(_double)).fit(X[["a"]])
    save_pipeline(odd, tmp_path / "odd.skops")
    with pytest.raises(MetaRecError, match="does not trust"):
        load_pipeline(tmp_path / "odd.skops")


def test_default_portfolio_has_no_invented_scores() -> None:
    recs = default_portfolio("regression", top_k=3)
    assert len(recs) == 3 and all(math.isnan(r["predicted_score"]) for r in recs)
    assert all(r["pipeline"]["task"] == "regression" for r in recs)


def test_translate_spec_fills_open_settings_only() -> None:
    from metarec.tuning import translate_spec

    forest = translate_spec(_spec("extra_trees", n_estimators=10), "balanced")
    assert forest["hyperparameters"] == {"n_estimators": 100,
                                         "class_weight": "balanced"}
    kept = translate_spec(_spec("svm", class_weight={"0": 2.0}), "balanced")
    assert kept["hyperparameters"]["class_weight"] == {"0": 2.0}
    # Gaussian naive Bayes has no class weighting to fill.
    assert "class_weight" not in translate_spec(_spec("gaussian_nb"), "balanced")["hyperparameters"]
    assert translate_spec(_spec("logistic_regression"), None)["hyperparameters"] == {}


def test_tuning_infers_the_task_as_recommend_does() -> None:
    from metarec.tuning import infer_task

    assert infer_task(np.arange(100) % 3) == "classification"
    # Integers with many distinct values are a quantity (metarec.io's rule), not 100 classes.
    assert infer_task(np.arange(100)) == "regression"
    assert infer_task(np.linspace(0, 1, 50)) == "regression"
    assert infer_task(np.array(["a", "b"] * 10)) == "classification"


def test_search_asks_for_a_set_as_large_as_its_warm_start(monkeypatch) -> None:
    # The greedy portfolio of k beats the set of 5 plus the diverse top at k = 10 (docs/tuning.md)
    import metarec.tuning.search as search_module
    from metarec.recommend import Recommended

    asked: dict[str, int] = {}

    def recorded(*args, **kwargs):
        asked.update(top_k=kwargs["top_k"], set_size=kwargs["set_size"])
        return Recommended(default_portfolio("classification", kwargs["top_k"]),
                           "default portfolio")

    monkeypatch.setattr(search_module, "recommendations_for", recorded)
    X, y = _data(60)
    search_module.search(X, y, "classification", kb=False, top_k=6, n_trials=0, cv=2)
    assert asked["set_size"] == 6
