"""`metarec recommend` end to end on a small, real knowledge base built by the tests."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from metarec import kb as kb_module
from metarec import pipelines
from metarec.errors import KnowledgeBaseError
from metarec.io import split_target
from metarec.kb.queries import choose_evidence
from metarec.recommend import recommend

pytestmark = pytest.mark.usefixtures("isolated_learner_cache")


@pytest.fixture(scope="module")
def kb_dir(synthetic_kb_dir) -> Path:
    return synthetic_kb_dir


@pytest.fixture
def data_csv(tmp_path: Path, synthetic_dataset) -> Path:
    X, y = synthetic_dataset(300, 5, seed=99, missing=0.1)
    X.assign(label=y).to_csv(tmp_path / "new.csv", index=False)
    return tmp_path / "new.csv"


def test_recommendations_are_ranked_buildable_pipelines(kb_dir: Path, synthetic_dataset,
                                                         kb_configurations) -> None:
    X, y = synthetic_dataset(300, 5, seed=99, missing=0.1)
    dataset = split_target(X.assign(label=y), "label", source="new")
    report = recommend(dataset, kb_module.load(kb_dir), top_k=3)
    recs = report.recommendations
    assert [r["rank"] for r in recs] == [1, 2, 3]
    assert {r["configuration_id"] for r in recs} <= set(kb_configurations)
    for rec in recs:
        assert 0 <= rec["predicted_score"] <= 1
        assert rec["uncertainty"] >= 0
        model = pipelines.build(rec["pipeline"]).fit(dataset.X, dataset.y)
        assert model.predict(dataset.X.head(5)).shape == (5,)
    assert len(report.neighbours) == 3
    assert all(n["distance"] >= 0 for n in report.neighbours)


def test_json_output_has_the_documented_fields(cli, kb_dir: Path, data_csv: Path) -> None:
    code, stdout, stderr = cli(
        "recommend", str(data_csv), "--target", "label", "--json", "--kb", str(kb_dir)
    )
    assert code == 0, stderr
    payload = json.loads(stdout)
    assert payload["task"] == "classification"
    assert {"metafeatures", "recommendations", "neighbours", "out_of_distribution"} <= set(payload)
    first = payload["recommendations"][0]
    assert {
        "rank",
        "algorithm",
        "imputer",
        "hyperparameters",
        "pipeline",
        "predicted_score",
        "uncertainty",
        "predicted_fit_seconds",
    } <= set(first)
    assert all(r["predicted_fit_seconds"] > 0 for r in payload["candidate_set"])
    assert isinstance(payload["out_of_distribution"]["flag"], bool)
    assert payload["out_of_distribution"]["distance"] >= 0


def test_table_output_and_single_feature_dataset(cli, kb_dir: Path, tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=200)
    pd.DataFrame({"x": x, "y": np.where(x > 0, "a", "b")}).to_csv(tmp_path / "one.csv", index=False)
    code, stdout, stderr = cli("recommend", str(tmp_path / "one.csv"), "--kb", str(kb_dir))
    assert code == 0, stderr
    assert "predicted" in stdout and "score (range)" in stdout and "fit time" in stdout
    assert "Most similar datasets" in stdout
    # One normal feature, two balanced classes: within the knowledge base's range, no warning.
    assert "unlike anything in the knowledge base" not in " ".join(stdout.split())


def test_far_away_dataset_is_flagged(kb_dir: Path) -> None:
    rng = np.random.default_rng(1)
    X = pd.DataFrame(rng.lognormal(sigma=3, size=(5000, 60)))
    X.columns = [f"c{i}" for i in range(60)]
    y = pd.Series(pd.Categorical(rng.choice(list("abcdefghij"), 5000)))
    report = recommend(split_target(X.assign(t=y), "t", source="far"), kb_module.load(kb_dir))
    ood = report.out_of_distribution
    assert ood["flag"]
    assert ood["distance"] > ood["threshold"]


def test_far_away_dataset_gets_one_warning_in_the_table(cli, kb_dir: Path, tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    X = pd.DataFrame(rng.lognormal(sigma=3, size=(200, 30)), columns=[f"c{i}" for i in range(30)])
    X.assign(t=rng.choice(list("abcdefghij"), 200)).to_csv(tmp_path / "far.csv", index=False)
    code, stdout, stderr = cli("recommend", str(tmp_path / "far.csv"), "-t", "t", "--kb",
                               str(kb_dir))
    assert code == 0, stderr
    text = " ".join(stdout.split())  # the console wraps long lines
    assert text.count("unlike anything in the knowledge base") == 1
    assert "the predicted scores are less reliable" in text


def test_no_runs_for_the_task_type_is_a_clear_error(kb_dir: Path, cli, tmp_path: Path) -> None:
    with pytest.raises(KnowledgeBaseError, match="no runs for regression"):
        choose_evidence(kb_module.load(kb_dir), "regression")
    x = np.linspace(0, 1, 100)
    pd.DataFrame({"x": x, "y": x**2 + 0.1}).to_csv(tmp_path / "reg.csv", index=False)
    code, _, stderr = cli("recommend", str(tmp_path / "reg.csv"), "--kb", str(kb_dir))
    assert code == 2
    assert "no runs for regression" in stderr


@pytest.mark.parametrize("damage", ["empty", "corrupt_table", "no_manifest"])
def test_broken_knowledge_base_is_one_sentence(cli, kb_dir, data_csv, tmp_path, damage):
    broken = tmp_path / "broken_kb"
    broken.mkdir()
    if damage != "empty":
        for file in kb_dir.iterdir():
            if file.is_file():
                (broken / file.name).write_bytes(file.read_bytes())
    if damage == "corrupt_table":
        runs = broken / "runs.parquet"
        runs.write_bytes(runs.read_bytes()[: runs.stat().st_size // 2])
    if damage == "no_manifest":
        (broken / "manifest.json").unlink()
    code, stdout, stderr = cli("recommend", str(data_csv), "--kb", str(broken))
    assert code == 2
    assert "Traceback" not in stderr + stdout
    assert stderr.startswith("metarec: error: ") and stderr.count("\n") == 1


def test_image_folder_is_routed_to_few_shot(cli, tmp_path: Path) -> None:
    from PIL import Image

    for label in ("alpha", "beta"):
        folder = tmp_path / "images" / label
        folder.mkdir(parents=True)
        for i in range(2):
            Image.new("L", (28, 28), color=40 * i).save(folder / f"{i}.png")
    code, stdout, stderr = cli("recommend", str(tmp_path / "images"), "--json")
    assert code == 0, stderr
    payload = json.loads(stdout)
    assert payload["task"] == "image-few-shot"
    assert payload["recommendations"][0]["algorithm"] == "protonet"


def test_plot_is_written(cli, kb_dir: Path, data_csv: Path, tmp_path: Path) -> None:
    target = tmp_path / "ranking.png"
    code, _, stderr = cli(
        "recommend", str(data_csv), "-t", "label", "--kb", str(kb_dir), "--plot", str(target)
    )
    assert code == 0, stderr
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plot_uses_the_learner_of_the_report(kb_dir: Path, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch,
                                              synthetic_dataset) -> None:
    from metarec.recommend import learner_cache
    from metarec.recommend.plotting import plot_report

    X, y = synthetic_dataset(200, 5, seed=7)
    dataset = split_target(X.assign(label=y), "label", source="new")
    report = recommend(dataset, kb_module.load(kb_dir), top_k=3, random_state=3)

    def no_second_learner(*args, **kwargs):
        raise AssertionError("plotting fitted or loaded another meta-learner")

    monkeypatch.setattr(learner_cache, "fitted_learner", no_second_learner)
    assert plot_report(report, tmp_path / "seed3.png").stat().st_size > 0
    # The picture places the datasets as the report's learner compares them.
    learner = report.learner
    kb_points = learner.embed()
    assert kb_points.shape == (len(learner.datasets_), len(learner.metafeature_names_))
    distances = np.abs(learner.embed(report.metafeatures.to_frame().T) - kb_points).mean(axis=1)
    assert distances.min() == pytest.approx(report.neighbours[0]["distance"])


def test_shipped_kb_recommends_fittable_pipelines_for_the_example() -> None:
    from metarec.io import load_dataset
    from metarec.kb.store import default_path

    if not (default_path() / "manifest.json").is_file():
        pytest.skip("the shipped knowledge base is not built in this checkout")
    repo = Path(__file__).resolve().parents[1]
    dataset = load_dataset(repo / "examples" / "colic.csv", "surgical_lesion")
    report = recommend(dataset, kb_module.load(), top_k=3)
    assert report.evidence.source == "classification_campaign"  # ours, once it covers 20
    # the campaign's own landmarkers feed its learner, so the profile has them too
    assert "kNN1NErrRate" in report.learner.metafeature_names_
    assert np.isfinite(report.metafeatures["kNN1NErrRate"])
    assert len(report.recommendations) == 3
    # colic has missing values, so every recommendation says which imputer to use.
    assert all(r["imputer"] not in ("none needed", "none") for r in report.recommendations)
    model = pipelines.build(report.recommendations[0]["pipeline"]).fit(dataset.X, dataset.y)
    assert (model.predict(dataset.X) == dataset.y).mean() > 0.6


def test_recommend_probes_each_family_once_and_follows_it(kb_dir: Path,
                                                          synthetic_dataset) -> None:
    X, y = synthetic_dataset(300, 5, seed=99, missing=0.1)
    dataset = split_target(X.assign(label=y), "label", source="new")
    knowledge = kb_module.load(kb_dir)
    report = recommend(dataset, knowledge, top_k=3, probe_imputers=True)
    probes = report.to_dict()["imputer_probes"]
    assert probes and all(p["n_folds"] == 3 and p["n_repeats"] == 2 and p["n_rows"] == 300
                          for p in probes.values())
    from metarec.imputation import estimator_family

    for rec in report.recommendations:
        measured = probes[estimator_family(rec["algorithm"])]["scores"]
        best = max(v for v in measured.values() if v is not None)
        assert measured[rec["imputer"]] >= best - 0.005 - 1e-9
    assert "imputer_probes" not in recommend(dataset, knowledge, top_k=3).to_dict()


def test_recommend_cli_probe_flag(cli, kb_dir: Path, tmp_path: Path, synthetic_dataset) -> None:
    X, y = synthetic_dataset(200, 4, seed=5, missing=0.15)
    X.assign(label=y).to_csv(tmp_path / "gaps.csv", index=False)
    code, stdout, stderr = cli("recommend", str(tmp_path / "gaps.csv"), "-t", "label", "--kb",
                               str(kb_dir), "--probe-imputers", "--json")
    assert code == 0, stderr
    assert json.loads(stdout)["imputer_probes"]
    code, stdout, stderr = cli("recommend", str(tmp_path / "gaps.csv"), "-t", "label", "--kb",
                               str(kb_dir), "--probe-imputers")
    assert code == 0, stderr
    assert "Imputers measured with" in stdout


def test_shipped_regression_recommendations_are_r2_with_rmse_in_the_targets_units() -> None:
    from metarec.kb.store import default_path

    if not (default_path() / "manifest.json").is_file():
        pytest.skip("the shipped knowledge base is not built in this checkout")
    rng = np.random.default_rng(3)
    X = pd.DataFrame(rng.standard_normal((200, 4)), columns=list("abcd"))
    dataset = split_target(X.assign(y=X["a"] * 3 + rng.standard_normal(200)), "y", source="reg")
    report = recommend(dataset, kb_module.load(), top_k=5)
    assert report.task == "regression"
    assert (report.evidence.source, report.evidence.metric) == ("regression_campaign", "r2")
    assert report.evidence.n_datasets >= 100
    assert not any("scale of the knowledge base's targets" in note for note in report.notes)
    assert all(r["upper"] <= 1 and r["rmse"]["lower"] <= r["rmse"]["upper"]
               for r in report.recommendations)
    assert len({r["algorithm"] for r in report.recommendations}) >= 3  # diverse families


def test_probe_that_cannot_run_is_one_warning_and_a_fallback(cli, kb_dir: Path, tmp_path: Path,
                                                             synthetic_dataset) -> None:
    X, y = synthetic_dataset(200, 4, seed=6, missing=0.15)
    y = pd.Series(y).astype(str)
    y.iloc[:2] = "rare"  # two rows: too few for 3-fold stratified CV
    X.assign(label=y.to_numpy()).to_csv(tmp_path / "rare.csv", index=False)
    code, stdout, stderr = cli("recommend", str(tmp_path / "rare.csv"), "-t", "label", "--kb",
                               str(kb_dir), "--probe-imputers", "--json")
    assert code == 0, stderr
    payload = json.loads(stdout)
    assert payload["imputer_probes"] == {}
    assert any("imputers not probed" in n and "smallest class has 2 rows" in n
               for n in payload["notes"])
    assert all(r["imputer"] for r in payload["recommendations"])


def test_the_fitted_learner_is_cached_under_metarec_cache_dir(kb_dir: Path,
                                                             synthetic_dataset) -> None:
    import os

    X, y = synthetic_dataset(300, 5, seed=99, missing=0.1)
    recommend(split_target(X.assign(label=y), "label", source="new"), kb_module.load(kb_dir))
    learners = Path(os.environ["METAREC_CACHE_DIR"]) / "learners"
    assert list(learners.glob("*/state.json")) and list(learners.glob("evidence-*.json"))


def test_the_candidate_set_comes_with_its_expected_best(kb_dir: Path, synthetic_dataset) -> None:
    X, y = synthetic_dataset(200, 5, seed=11)
    dataset = split_target(X.assign(label=y), "label", source="new")
    report = recommend(dataset, kb_module.load(kb_dir), top_k=3, set_size=3)
    tried = report.candidate_set
    assert [r["rank"] for r in tried] == [1, 2, 3]
    assert len({r["configuration_id"] for r in tried}) == 3
    expected = [r["expected_best"] for r in tried]
    assert expected == sorted(expected) and all(0 <= e <= 1 for e in expected)
    for rec in tried:
        model = pipelines.build(rec["pipeline"]).fit(dataset.X, dataset.y)
        assert model.predict(dataset.X.head(3)).shape == (3,)
    assert report.to_dict()["candidate_set"] == tried
    assert recommend(dataset, kb_module.load(kb_dir), top_k=3, set_size=0).candidate_set == []


def test_recommendations_carry_the_predicted_fit_time_of_this_size(
        kb_dir: Path, synthetic_dataset, kb_fit_seconds) -> None:
    # The KB records kNN's fit time growing with the square of the rows, the others linearly.
    X, y = synthetic_dataset(300, 5, seed=3)
    dataset = split_target(X.assign(label=y), "label", source="new")
    report = recommend(dataset, kb_module.load(kb_dir), top_k=6, set_size=3)
    for rec in report.recommendations + report.candidate_set:
        expected = kb_fit_seconds(300, rec["configuration_id"])
        assert rec["predicted_fit_seconds"] == pytest.approx(expected, rel=0.1)
