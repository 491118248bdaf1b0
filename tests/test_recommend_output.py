"""What `metarec recommend` shows a person: rows that can be told apart, intervals inside the
metric's range, an order that is explained, and a plot that says what it draws and where."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from metarec import kb as kb_module
from metarec.io import split_target
from metarec.kb.queries import Evidence
from metarec.recommend import recommend
from metarec.recommend.recommender import ranking_explanation
from metarec.recommend.record import (
    distinguishing_hyperparameters,
    format_hyperparameters,
    recommendation,
)

SVM = {"algorithm": "svm", "task": "classification"}


def _row(rank: int, algorithm: str, score: float = 0.8, **hyperparameters) -> dict:
    return {"rank": rank, "algorithm": algorithm, "imputer": "mean", "predicted_score": score,
            "uncertainty": 0.05, "hyperparameters": hyperparameters}


pytestmark = pytest.mark.usefixtures("isolated_learner_cache")


@pytest.fixture(scope="module")
def kb_dir(synthetic_kb_dir) -> Path:
    return synthetic_kb_dir


@pytest.fixture(scope="module")
def data_csv(tmp_path_factory: pytest.TempPathFactory, synthetic_dataset) -> Path:
    X, y = synthetic_dataset(300, 5, seed=99, missing=0.1)
    path = tmp_path_factory.mktemp("data") / "new.csv"
    X.assign(label=y).to_csv(path, index=False)
    return path


def test_rows_of_one_algorithm_show_the_hyperparameters_that_tell_them_apart() -> None:
    rows = [_row(1, "svm", C=1.0, coef0=0.0, gamma=0.1, kernel="rbf"),
            _row(2, "svm", C=1.0, coef0=0.0, gamma=0.1, kernel="poly", degree=3),
            _row(3, "k_nearest_neighbors", n_neighbors=5, p=2, weights="uniform", leaf_size=30)]
    names = distinguishing_hyperparameters(rows)
    # alphabetically the first three are C, coef0, gamma: the same on both SVMs
    assert names[0][0] == "kernel" and names[1][:2] == ["degree", "kernel"]
    assert len(names[1]) == 3  # the differences, then others up to three
    # a row alone of its algorithm shows its first three, alphabetically
    assert names[2] == ["leaf_size", "n_neighbors", "p"]
    text = format_hyperparameters(rows)
    assert "kernel=rbf" in text[0] and "kernel=poly" in text[1]


def test_values_get_the_digits_that_tell_them_apart() -> None:
    rows = [_row(1, "svm", gamma=0.000123451, C=1.0), _row(2, "svm", gamma=0.000123459, C=1)]
    first, second = format_hyperparameters(rows)
    assert first[0] != second[0] and first[0].startswith("gamma=")
    # 1 and 1.0 are one setting: C does not count as a difference
    assert distinguishing_hyperparameters(rows, at_least=0) == [["gamma"], ["gamma"]]
    layers = [_row(1, "mlp", hidden_layer_sizes=[100], solver={"name": "adam"}),
              _row(2, "mlp", hidden_layer_sizes=[100, 50], solver={"name": "adam"})]
    assert distinguishing_hyperparameters(layers, at_least=0) == [["hidden_layer_sizes"]] * 2


def test_the_table_wraps_rather_than_cuts(cli, kb_dir: Path, data_csv: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    code, narrow, stderr = cli("recommend", str(data_csv), "-t", "label", "--kb", str(kb_dir))
    assert code == 0, stderr
    assert "…" not in narrow  # a console of 80 columns, as when the output is piped
    monkeypatch.setenv("COLUMNS", "250")
    code, wide, _ = cli("recommend", str(data_csv), "-t", "label", "--kb", str(kb_dir))
    _, payload, _ = cli("recommend", str(data_csv), "-t", "label", "--kb", str(kb_dir),
                        "--json")
    payload = json.loads(payload)
    for table in ("recommendations", "candidate_set"):
        for shown in format_hyperparameters(payload[table]):
            assert all(text in wide for text in shown)


def test_intervals_stay_inside_the_metrics_range() -> None:
    rec = recommendation(1, SVM, 0.923, 0.125, score_range=(0.0, 1.0))
    assert rec["upper"] == 1.0 and rec["lower"] == pytest.approx(0.798)
    assert rec["uncertainty"] == 0.125  # the spread itself is what the learner reported
    assert recommendation(1, SVM, 1.02, 0.01, score_range=(0.0, 1.0))["predicted_score"] == 1.0
    unbounded = recommendation(1, SVM, 5.0, 8.0)
    assert unbounded["lower"] == -3.0 and unbounded["upper"] == 13.0
    evidence = dict(source="s", higher_is_better=False, n_datasets=1, n_configurations=1)
    assert Evidence(metric="balanced_error_rate", **evidence).score_range == (0.0, 1.0)
    assert Evidence(metric="rmse", **evidence).score_range == (0.0, float("inf"))
    assert Evidence(metric="something new", **evidence).score_range == (-np.inf, np.inf)


def test_the_report_clips_and_explains_its_order(cli, kb_dir: Path, data_csv: Path) -> None:
    code, stdout, stderr = cli("recommend", str(data_csv), "-t", "label", "--kb", str(kb_dir),
                               "--json")
    assert code == 0, stderr
    payload = json.loads(stdout)
    for rec in payload["recommendations"]:
        assert 0.0 <= rec["lower"] <= rec["predicted_score"] <= rec["upper"] <= 1.0
    order = payload["ranking"]["predicted_score_order"]
    scores = {r["rank"]: r["predicted_score"] for r in payload["recommendations"]}
    assert [scores[r] for r in order] == sorted(scores.values(), reverse=True)
    assert payload["ranking"]["why"].startswith("Ranked by the meta-learner's key")
    code, table, _ = cli("recommend", str(data_csv), "-t", "label", "--kb", str(kb_dir))
    text = " ".join(table.split())
    assert "Ranked by the meta-learner's key" in text and "clipped to [0, 1]" in text


def test_an_order_other_than_the_scores_says_why() -> None:
    rows = [_row(1, "svm", 0.738), _row(2, "mlp", 0.741), _row(3, "svm", 0.750, C=2)]
    # keys in rank order: 3 stands before 2 by key, so the diverse walk deferred 2
    deferred = ranking_explanation(rows, np.array([2.0, 0.5, 1.0]), learner=None)
    assert deferred["predicted_score_order"] == [3, 2, 1]
    assert "near-copies" in deferred["why"] and "would order them 3, 2, 1" in deferred["why"]
    plain = ranking_explanation(rows, np.array([2.0, 1.5, 1.0]), learner=None)
    assert "near-copies" not in plain["why"]
    assert "estimated separately" in plain["why"]
    in_order = ranking_explanation(rows[::-1], np.array([3.0, 2.0, 1.0]), learner=None)
    assert "would order" not in in_order["why"]


def test_plot_labels_axes_and_tells_where_it_went(cli, kb_dir: Path, data_csv: Path,
                                                  tmp_path: Path) -> None:
    from metarec.recommend.plotting import draw_report, labels

    same = labels([_row(1, "svm", kernel="rbf", C=1), _row(2, "svm", kernel="poly", C=1)])
    assert len(set(same)) == 2 and "kernel=rbf" in same[0] and "C=" not in same[0]

    dataset = split_target(pd.read_csv(data_csv), "label", source="new")
    report = recommend(dataset, kb_module.load(kb_dir), top_k=3)
    figure = draw_report(report)
    left, right = figure.axes
    low, high = left.get_xlim()
    assert 0.0 <= low < high <= 1.0
    assert "axis from" in left.get_xlabel()  # the origin is stated, not implied
    assert "principal component" in right.get_xlabel() and "variance" in right.get_ylabel()
    legend = [t.get_text() for t in right.get_legend().get_texts()]
    assert all(any(n["name"] in entry for entry in legend) for n in report.neighbours)
    # neighbours are named in the legend, not by text beside points that may overlap
    assert not right.texts

    target = tmp_path / "ranking.png"
    code, stdout, stderr = cli("recommend", str(data_csv), "-t", "label", "--kb", str(kb_dir),
                               "--plot", str(target), "--json")
    assert code == 0, stderr
    json.loads(stdout)  # still one JSON object
    assert f"plot written to {target.resolve()}" in stderr


def test_the_probe_says_when_it_was_not_needed_or_ran_out_of_time(cli, kb_dir: Path,
                                                                  tmp_path: Path,
                                                                  synthetic_dataset) -> None:
    X, y = synthetic_dataset(200, 4, seed=5)
    X.assign(label=y).to_csv(tmp_path / "complete.csv", index=False)
    code, stdout, stderr = cli("recommend", str(tmp_path / "complete.csv"), "-t", "label",
                               "--kb", str(kb_dir), "--probe-imputers", "--json")
    assert code == 0, stderr
    payload = json.loads(stdout)
    assert payload["imputer_probes"] == {}
    assert any("no missing values" in note for note in payload["notes"])

    X, y = synthetic_dataset(200, 4, seed=5, missing=0.15)
    X.assign(label=y).to_csv(tmp_path / "gaps.csv", index=False)
    code, stdout, stderr = cli("recommend", str(tmp_path / "gaps.csv"), "-t", "label", "--kb",
                               str(kb_dir), "--probe-imputers", "--probe-budget", "0.1")
    assert code == 0, stderr
    text = " ".join(stdout.split())
    assert "not measured within the 0.1 s budget" in text and "iterative" in text


def test_landmarkers_feed_the_learners_of_our_own_classification_campaign_only() -> None:
    from metarec.kb.queries import LEARNER_GROUPS, learner_groups

    def evidence(source: str) -> Evidence:
        return Evidence(source=source, metric="m", higher_is_better=True, n_datasets=1,
                        n_configurations=1)

    assert learner_groups(evidence("classification_campaign")) == [*LEARNER_GROUPS,
                                                                   "landmarking"]
    for source in ("oboe", "regression_campaign"):
        assert learner_groups(evidence(source)) == LEARNER_GROUPS
