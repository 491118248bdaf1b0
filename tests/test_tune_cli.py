"""`metarec tune`: output, the saved model, bad input, and two processes sharing one study."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import optuna
import pandas as pd
import pytest
from threadpoolctl import threadpool_limits

from metarec.tuning import load_pipeline


@pytest.fixture(autouse=True)
def _no_kb(monkeypatch, tmp_path) -> None:
    # The default portfolio keeps these tests fast and independent of the shipped KB.
    monkeypatch.setenv("METAREC_KB", str(tmp_path / "no-kb"))


@pytest.fixture
def csv(tmp_path) -> Path:
    rng = np.random.default_rng(0)
    n = 60
    frame = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n),
                          "c": rng.choice(["x", "y"], n)})
    frame["label"] = np.where(frame["a"] + (frame["c"] == "x") > 0.5, "yes", "no")
    frame.loc[::8, "b"] = np.nan
    path = tmp_path / "data.csv"
    frame.to_csv(path, index=False)
    return path


@pytest.fixture(autouse=True)
def _one_thread():
    # OpenMP estimators (histogram boosting, LightGBM) crawl when the machine is oversubscribed.
    with threadpool_limits(limits=1):
        yield


def test_tune_prints_json_and_saves_a_loadable_model(cli, csv, tmp_path) -> None:
    out = tmp_path / "model.skops"
    code, stdout, stderr = cli("tune", str(csv), "--target", "label", "--trials", "3",
                               "--cv", "2", "--top", "2", "--out", str(out), "--json")
    assert code == 0, stderr
    payload = json.loads(stdout)
    assert payload["trials"]["complete"] + payload["trials"]["failed"] == 3
    assert payload["recommendations_from"] == "default portfolio"
    assert payload["best_trials"][0]["score"] == payload["best_score"]
    assert [t["warm_start_rank"] for t in sorted(payload["best_trials"],
            key=lambda t: t["number"])][:2] == [1, 2]
    model = load_pipeline(out)
    frame = pd.read_csv(csv)
    assert model.predict(frame.drop(columns="label")).shape == (len(frame),)
    # The model is never overwritten silently.
    code, _, stderr = cli("tune", str(csv), "--target", "label", "--trials", "0",
                          "--out", str(out))
    assert code == 2 and "already exists" in stderr


def test_tune_table_output(cli, csv) -> None:
    code, stdout, stderr = cli("tune", str(csv), "--target", "label", "--trials", "2",
                               "--cv", "2")
    assert code == 0, stderr
    assert "best trials" in stdout and "balanced_accuracy" in stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--trials", "-1"], "zero or more"),
        (["--top", "-1"], "--top must be zero or more"),
        (["--storage", "nosuchdialect://host/db"], "cannot open the study storage"),
        (["--cv", "1"], "at least 2 folds"),
        (["--search-space", "everything"], "--search-space must be recommended or full"),
        (["--time-budget", "0"], "--time-budget must be a positive number of seconds"),
        (["--time-budget", "10", "--timeout", "5"], "give --time-budget or --timeout, not both"),
    ],
)
def test_bad_arguments_exit_2_with_one_sentence(cli, csv, args, message) -> None:
    code, _, stderr = cli("tune", str(csv), "--target", "label", "--trials", "1", *args)
    assert code == 2
    assert message in stderr and "Traceback" not in stderr


def test_a_time_budget_holds_for_the_whole_command(cli, csv, tmp_path) -> None:
    import time

    out = tmp_path / "model.skops"
    started = time.monotonic()
    # two trials end it early on a quiet machine; the budget holds on a loaded one
    code, stdout, stderr = cli("tune", str(csv), "--target", "label", "--time-budget", "60",
                               "--trials", "2", "--out", str(out), "--json")
    elapsed = time.monotonic() - started
    assert code == 0, stderr
    payload = json.loads(stdout)
    assert elapsed <= 1.1 * 60
    assert payload["time_budget"] == 60 and payload["elapsed_seconds"] <= elapsed
    assert payload["trials"]["complete"] >= 1
    frame = pd.read_csv(csv)
    assert load_pipeline(out).predict(frame.drop(columns="label")).shape == (len(frame),)


def test_a_time_budget_too_short_to_profile_exits_2(cli, csv) -> None:
    code, _, stderr = cli("tune", str(csv), "--target", "label", "--time-budget", "0.1")
    assert code == 2
    assert "--time-budget of 0.1 s is too short for this dataset" in stderr
    assert "Traceback" not in stderr


def test_unfittable_data_exits_2(cli, tmp_path) -> None:
    one_class = tmp_path / "one.csv"
    pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0], "label": ["k"] * 4}).to_csv(one_class, index=False)
    code, _, stderr = cli("tune", str(one_class), "--target", "label", "--trials", "1")
    assert code == 2 and "single class" in stderr


def test_study_with_another_direction_exits_2(cli, csv, tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    optuna.create_study(storage=url, study_name="taken", direction="minimize")
    code, _, stderr = cli("tune", str(csv), "--target", "label", "--trials", "1",
                          "--storage", url, "--study-name", "taken")
    assert code == 2 and "minimises" in stderr


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_two_processes_cooperate_on_one_study(csv, tmp_path, request, backend) -> None:
    # PostgreSQL: the URL docs/tuning.md gives (user, no password), on a real server.
    url = (f"sqlite:///{tmp_path / 'shared.db'}" if backend == "sqlite"
           else request.getfixturevalue("postgres_url"))
    name = f"shared-{tmp_path.name}"  # the server lives for the whole session
    env = {**os.environ, "METAREC_KB": str(tmp_path / "no-kb"), "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "metarec.cli.main", "tune", str(csv), "--target", "label",
               "--trials", "3", "--cv", "2", "--top", "2", "--storage", url,
               "--study-name", name, "--json"]
    workers = [subprocess.Popen([*command, "--seed", str(seed)], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
               for seed in (1, 2)]
    results = [w.communicate(timeout=180) for w in workers]
    for worker, (out, err) in zip(workers, results, strict=True):
        assert worker.returncode == 0, err
        assert json.loads(out)["study_name"] == name
    study = optuna.load_study(study_name=name, storage=url)
    finished = [t for t in study.trials if t.state.is_finished()]
    assert len(finished) == 6  # 3 from each process, in one study
    # Both processes enqueued the same two recommendations; each ran once, not twice.
    warm = [t for t in study.trials if "metarec:warm_start_rank" in t.user_attrs]
    assert sorted(t.user_attrs["metarec:warm_start_rank"] for t in warm) == [1, 2]


def test_an_untuned_pick_chosen_for_its_cost_is_reported(cli, csv, monkeypatch) -> None:
    from metarec.recommend import Recommended
    from metarec.tuning import search as orchestration

    def rec(rank: int, algorithm: str, score: float, seconds: float) -> dict:
        return {"rank": rank, "algorithm": algorithm, "predicted_score": score,
                "predicted_fit_seconds": seconds,
                "pipeline": {"task": "classification", "algorithm": algorithm}}

    monkeypatch.setattr(orchestration, "recommendations_for", lambda *a, **k: Recommended(
        [rec(1, "svm", 0.87, 600.0), rec(2, "gaussian_nb", 0.868, 2.0)], "meta-learner"))
    code, stdout, stderr = cli("tune", str(csv), "--target", "label", "--trials", "0", "--json")
    assert code == 0, stderr
    payload = json.loads(stdout)
    assert payload["best_pipeline"]["algorithm"] == "gaussian_nb"
    assert len(payload["notes"]) == 1 and "300x" in payload["notes"][0]
    assert "300x" in stderr


def test_no_trials_prints_what_was_fitted(cli, csv) -> None:
    code, stdout, stderr = cli("tune", str(csv), "--target", "label", "--trials", "0")
    assert code == 0, stderr
    assert "best trials" not in stdout  # no empty table of trials
    code, payload, _ = cli("tune", str(csv), "--target", "label", "--trials", "0", "--json")
    fitted = json.loads(payload)["best_pipeline"]
    text = " ".join(stdout.split())
    assert "fitted without tuning" in text and fitted["algorithm"] in text
    assert all(f"{k}=" in text for k in fitted["hyperparameters"])


def test_an_in_memory_study_is_not_shown_by_optunas_placeholder_name(cli, csv) -> None:
    code, stdout, stderr = cli("tune", str(csv), "--target", "label", "--trials", "1",
                               "--cv", "2")
    assert code == 0, stderr
    assert "no-name-" not in stdout and "in-memory study" in " ".join(stdout.split())
    code, stdout, _ = cli("tune", str(csv), "--target", "label", "--trials", "1", "--cv", "2",
                          "--json")
    payload = json.loads(stdout)
    assert payload["study_name"] is None and payload["study_storage"] == "memory"
    code, stdout, _ = cli("tune", str(csv), "--target", "label", "--trials", "1", "--cv", "2",
                          "--study-name", "mine", "--json")
    assert json.loads(stdout)["study_name"] == "mine"
