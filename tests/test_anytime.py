"""The search under a time budget: pieces of work that cannot overrun, successive halving,
refit and fallbacks, and the estimators' and the command's ``time_budget``."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import numpy as np
import optuna
import pandas as pd
import pytest
from sklearn.datasets import make_classification
from sklearn.svm import LinearSVC

from metarec.errors import TuningError
from metarec.tuning.anytime import (
    MIN_RUNG_ROWS,
    _Trials,
    budgeted_search,
    rung_sizes,
    subsample,
)
from metarec.tuning.budget import Deadline, IsolatedRunner, PieceStopped
from metarec.tuning.ensemble import prefitted
from metarec.tuning.search import search
from metarec.tuning.space import space_for

# What a kill and the transfer back may add to a piece's limit here (a shared 2-core machine).
SLACK_S = 4.0
# The end-to-end tests cap the trials and give a budget that holds on a loaded machine: under a
# load average of 7-11 on 2 cores a fresh worker took 5-9 s to import scikit-learn, and a 5-fold
# random forest on 300 rows over 5 s (under 1 s on a quiet one).


def _table(n_rows: int, n_features: int = 8, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    X, y = make_classification(n_samples=n_rows, n_features=n_features, n_informative=5,
                               random_state=seed)
    return pd.DataFrame(X, columns=[f"f{i}" for i in range(n_features)]), y


def test_a_piece_that_overruns_is_stopped_and_the_next_one_runs():
    with IsolatedRunner({}) as runner:
        started = time.monotonic()
        with pytest.raises(PieceStopped, match="stopped after"):
            runner.run(time.sleep, 60, limit=1.0)
        assert time.monotonic() - started < 1.0 + SLACK_S
        assert runner.run(len, [1, 2, 3], limit=30) == 3


def test_a_worker_that_dies_fails_its_piece_only():
    with IsolatedRunner({}) as runner:
        with pytest.raises(PieceStopped, match="died"):
            runner.run(os._exit, 3, limit=30)
        assert runner.run(len, "ab", limit=30) == 2


def test_no_time_left_runs_nothing():
    with IsolatedRunner({}) as runner, pytest.raises(PieceStopped, match="no time"):
        runner.run(len, "ab", limit=0.0)


def test_deadline_counts_from_the_given_start():
    deadline = Deadline(10, started=time.monotonic() - 4)
    assert 5.5 < deadline.left() <= 6.0


def test_rungs_triple_the_rows_up_to_all_of_them():
    y = np.arange(50_000) % 2
    assert rung_sizes(50_000, y, "classification", 5) == [5555, 16666, 50_000]
    # too few rows for a subsample worth ranking by
    assert rung_sizes(2 * MIN_RUNG_ROWS, y[:2000], "classification", 5) == [2000]
    # a rare class could not be stratified into the folds of a subsample
    rare = np.zeros(50_000, dtype=int)
    rare[:20] = 1
    assert rung_sizes(50_000, rare, "classification", 5) == [50_000]


def test_subsamples_keep_the_class_proportions():
    y = np.r_[np.zeros(9000, dtype=int), np.ones(1000, dtype=int)]
    rows = subsample(y, 3000, "classification", seed=0)
    assert len(rows) == len(np.unique(rows)) == 3000
    assert np.mean(y[rows]) == pytest.approx(0.1, abs=0.002)


def test_a_slow_trial_is_recorded_as_failed_with_its_reason_and_the_study_goes_on():
    X, y = _table(20_000, n_features=20)
    space = space_for("classification", has_missing=False, n_samples=len(X),
                      n_features=X.shape[1])
    study = optuna.create_study(direction="maximize")
    slow = space.spec_to_params({"algorithm": "svm", "task": "classification",
                                 "hyperparameters": {"C": 1000.0, "kernel": "rbf"}})
    fast = space.spec_to_params({"algorithm": "gaussian_nb", "task": "classification",
                                 "hyperparameters": {}})
    assert slow is not None and fast is not None
    with IsolatedRunner({"X": X, "y": y}) as runner:
        trials = _Trials(study, space, runner, Deadline(120), "classification", len(X), 5,
                         "balanced_accuracy", 0, 1, [])
        started = time.monotonic()
        assert trials.run(slow, None, limit=2.0) is None
        assert time.monotonic() - started < 2.0 + SLACK_S
        assert trials.run(fast, None) is not None
    failed, done = study.trials
    assert failed.state == optuna.trial.TrialState.FAIL
    assert "stopped after" in failed.user_attrs["metarec:error"]
    assert done.state == optuna.trial.TrialState.COMPLETE
    assert trials.best_spec["algorithm"] == "gaussian_nb"
    assert trials.best_fold_models is not None and len(trials.best_fold_models) == 5


@pytest.mark.parametrize("budget", [60.0])
def test_the_whole_search_keeps_within_its_budget(budget):
    X, y = _table(300)
    started = time.monotonic()
    # three trials end it early on a quiet machine; the budget holds on a loaded one
    run = budgeted_search(X, y, "classification", time_budget=budget, started=started,
                          kb=False, random_state=0, n_trials=3)
    elapsed = time.monotonic() - started
    assert elapsed <= 1.1 * budget
    states = {t.state for t in run.study.trials}
    assert optuna.trial.TrialState.COMPLETE in states or optuna.trial.TrialState.PRUNED in states
    accuracy = np.mean(run.model.predict(X) == y)
    assert accuracy > 0.7
    assert run.model.predict_proba(X).shape == (len(X), 2)


def test_the_search_ends_once_a_pipeline_validates_perfectly():
    X, _ = _table(300)
    y = (X["f0"] > 0).astype(int).to_numpy()  # one threshold separates the classes
    started = time.monotonic()
    run = budgeted_search(X, y, "classification", time_budget=120, started=started,
                          kb=False, random_state=0, ensemble_size=0)
    elapsed = time.monotonic() - started
    assert elapsed < 60
    assert max(t.value for t in run.study.trials if t.value is not None) == 1.0
    assert any("the best possible" in note for note in run.notes)


def test_the_shipped_knowledge_base_sets_the_first_candidates():
    X, y = _table(300)
    run = budgeted_search(X, y, "classification", time_budget=60, random_state=0,
                          ensemble_size=0, n_trials=1, top_k=7)
    assert run.recommended.source == "meta-learner"
    # the set holds as many as the search tries first: the portfolio of 7, not the top 7
    assert len(run.recommended.candidate_set) == 7
    first = run.study.trials[0]
    expected = run.recommended.candidate_set[0]["pipeline"]["algorithm"]
    assert first.params["algorithm"] == expected


def test_a_profile_that_overruns_its_share_falls_back_to_the_single_best(monkeypatch):
    import metarec.tuning.anytime as anytime

    monkeypatch.setattr(anytime, "PROFILE_SHARE", 1e-4)  # no profile can finish in that
    X, y = _table(300)
    run = budgeted_search(X, y, "classification", time_budget=60, random_state=0,
                          ensemble_size=0, n_trials=1)
    assert run.recommended.source == "single-best fallback"
    assert any("profiling was stopped" in note for note in run.notes)
    assert run.model.predict(X).shape == (len(X),)


def test_a_budget_shorter_than_the_profile_is_one_sentence():
    X, y = _table(3000)
    with pytest.raises(TuningError, match="too short for this dataset") as caught:
        budgeted_search(X, y, "classification", time_budget=0.2, random_state=0)
    assert caught.value.parameters == ("time_budget",)


@pytest.mark.parametrize("value", [0, -5, float("nan"), float("inf"), True, "10"])
def test_time_budget_must_be_a_positive_number(value):
    X, y = _table(200)
    with pytest.raises(TuningError, match="`time_budget` must be a positive number"):
        search(X, y, "classification", kb=False, time_budget=value)


def test_time_budget_and_timeout_are_not_given_together():
    X, y = _table(200)
    with pytest.raises(TuningError, match="not both"):
        search(X, y, "classification", kb=False, time_budget=10, timeout=5)


def test_fold_models_without_probabilities_vote():
    X, y = _table(300)
    folds = [LinearSVC().fit(X.iloc[i::3], y[i::3]) for i in range(3)]
    bag = prefitted(folds, [1.0, 1.0, 1.0], "classification")
    proba = bag.predict_proba(X)
    assert np.allclose(proba.sum(axis=1), 1.0)
    votes = np.mean([f.predict(X) for f in folds], axis=0)
    assert np.allclose(proba[:, 1], votes)


def test_the_estimator_keeps_within_its_budget():
    from metarec import MetaRecClassifier

    X, y = _table(300)
    started = time.monotonic()
    model = MetaRecClassifier(time_budget=60, n_trials=3, kb=False, random_state=0).fit(X, y)
    assert time.monotonic() - started <= 1.1 * 60
    assert model.predict_proba(X).shape == (len(X), 2)
    assert model.calibrator_ is None  # the search calibrated what needed it, within the budget
    assert len(model.study_.trials) >= 1


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_workers_die_with_the_process_that_started_them(tmp_path):
    script = tmp_path / "parent.py"
    script.write_text(
        "import os, time\n"
        "from metarec.tuning.budget import IsolatedRunner\n"
        "with IsolatedRunner({}) as runner:\n"
        "    print(runner.run(os.getpid, limit=60), flush=True)\n"
        "    runner.run(time.sleep, 600, limit=600)\n")
    parent = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    worker = int(parent.stdout.readline())
    parent.kill()
    parent.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and _alive(worker):
        time.sleep(0.2)
    assert not _alive(worker)


def _alive(pid: int) -> bool:
    try:
        status = open(f"/proc/{pid}/status").read()
    except FileNotFoundError:
        return False
    return "State:\tZ" not in status


def test_the_refit_reserve_never_takes_more_than_its_share_of_the_budget():
    trials = _Trials(optuna.create_study(direction="maximize"), None, None, Deadline(120),
                     "classification", 50_000, 5, "balanced_accuracy", 0, 1, [])
    assert trials.reserve() == pytest.approx(0.15 * 120)  # nothing finished yet
    trials.best, trials.best_seconds = (5_000, 0.8), 19.0  # a slow pipeline on a subsample
    assert trials.reserve() == pytest.approx(0.25 * 120)
    trials.best, trials.best_seconds = (50_000, 0.8), 2.0  # a quick one on all rows
    assert trials.reserve() < 10


def test_large_tables_for_the_budget_are_validated_on_one_stratified_holdout():
    from metarec.crossval import check_cv
    from metarec.tuning.anytime import HOLDOUT_SHARE, fits_per_evaluation, validation_for

    y = np.repeat(["a", "b", "c"], [15_000, 5_000, 1_000])
    assert validation_for(21_000, 6, 30, 5, y, "classification") == HOLDOUT_SHARE
    assert validation_for(21_000, 6, 3600, 5, y, "classification") == 5  # time for folds
    assert validation_for(500, 6, 30, 5, y[:500], "classification") == 5  # small
    rare = np.concatenate([y, ["d"] * 3])
    assert validation_for(21_003, 6, 30, 5, rare, "classification") == 5  # cannot stratify
    assert validation_for(200_000, 2, 1e6, 5, np.zeros(3), "regression") == HOLDOUT_SHARE
    split = check_cv(HOLDOUT_SHARE, y, "classification", 0)
    held = split.test_fold == 0
    assert held.mean() == pytest.approx(HOLDOUT_SHARE, abs=1e-3)
    for label in "abc":  # stratified
        assert held[y == label].mean() == pytest.approx(HOLDOUT_SHARE, abs=1e-3)
    assert (check_cv(HOLDOUT_SHARE, y, "classification", 0).test_fold == split.test_fold).all()
    assert fits_per_evaluation(5) == 4 and fits_per_evaluation(0.2) == pytest.approx(0.8)


def test_a_large_table_under_a_short_budget_gets_its_trials_on_a_holdout():
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(20_000, 10)), columns=[f"x{i}" for i in range(10)])
    y = np.where(X["x0"] + 0.5 * X["x1"] + rng.normal(scale=0.5, size=len(X)) > 0, "p", "n")
    started = time.monotonic()
    run = budgeted_search(X, y, "classification", time_budget=40, started=started, n_trials=4)
    assert time.monotonic() - started <= 1.1 * 40
    assert any("holdout of 20% of the rows" in note for note in run.notes)
    complete = [t for t in run.study.trials if t.state.name == "COMPLETE"]
    assert complete and all(t.user_attrs["metarec:cv_std"] == 0 for t in complete)  # one split
    assert (run.model.predict(X.iloc[:500]) == y[:500]).mean() > 0.8


def test_candidates_predicted_too_slow_for_their_share_go_behind_fast_defaults():
    from metarec.pipelines import normalize_spec
    from metarec.recommend.fallbacks import Recommended
    from metarec.recommend.record import recommendation
    from metarec.tuning.anytime import FAST_DEFAULTS, candidate_params

    def rec(rank: int, algorithm: str, seconds: float) -> dict:
        spec = normalize_spec({"task": "classification", "algorithm": algorithm,
                               "hyperparameters": {}})
        return recommendation(rank, spec, 0.8, 0.1, predicted_fit_seconds=seconds)

    found = Recommended([rec(1, "svm", 400.0), rec(2, "k_nearest_neighbors", 0.8)], "test",
                        candidate_set=[rec(1, "svm", 400.0), rec(2, "gradient_boosting", 230.0),
                                       rec(3, "k_nearest_neighbors", 0.8)])
    space = space_for("classification", has_missing=False)

    def order(affordable: float | None) -> list[str]:
        return [p["algorithm"] for p in candidate_params(found, space, 10, 20_000, 6, None,
                                                         affordable)]

    assert order(None) == order(1000.0) == ["svm", "gradient_boosting", "k_nearest_neighbors"]
    assert order(5.0) == ["k_nearest_neighbors", *FAST_DEFAULTS, "svm", "gradient_boosting"]
