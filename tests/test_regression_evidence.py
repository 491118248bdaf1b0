"""Regression recommendations learned from R² (the regression run campaign's metric): the
evidence chosen, diverged runs floored, and the predicted R² also given as RMSE in the target's
own units."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from metarec import kb as kb_module
from metarec import pipelines
from metarec.io import split_target
from metarec.kb.queries import R2_FLOOR, choose_evidence, learner_inputs
from metarec.recommend import recommend
from metarec.recommend.recommender import rmse_from_r2

CONFIGURATIONS = {
    "ridge": {"algorithm": "ridge", "hyperparameters": {"alpha": 1.0}},
    "forest": {"algorithm": "random_forest", "hyperparameters": {"n_estimators": 20}},
    "knn": {"algorithm": "k_nearest_neighbors", "hyperparameters": {"n_neighbors": 5}},
    "mlp": {"algorithm": "mlp", "hyperparameters": {"hidden_layer_sizes": [16]}},
}


def _table(n_rows: int, n_features: int, seed: int) -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.normal(size=(n_rows, n_features)),
                     columns=[f"x{i}" for i in range(n_features)])
    y = 2 * X["x0"] + np.sin(3 * X.iloc[:, -1]) + rng.normal(scale=0.5, size=n_rows)
    return X, pd.Series(y, name="y")


def _r2(profile: pd.Series, config: str, i: int) -> float:
    width = profile["NumberOfNumericFeatures"]
    return {"ridge": 0.80 - 0.02 * width, "forest": 0.60 + 0.02 * width, "knn": 0.5,
            "mlp": -50.0 if i % 4 == 0 else 0.55}[config]  # a diverged MLP now and then


def _write_kb(out: Path, metric: str = "r2") -> Path:
    """24 profiled regression datasets with runs in ``metric`` (R², or an RMSE: 1 - R²)."""
    import metafeatures
    from metarec.kb import schema, store

    datasets, mf, runs = [], [], []
    for i in range(24):
        X, y = _table(80 + 10 * i, 2 + i % 9, seed=i)
        profile = metafeatures.extract(X, y, groups=["simple", "statistical", "info-theory"],
                                       task="regression")
        dataset_id = f"reg-{i}"
        datasets.append({"dataset_id": dataset_id, "name": f"reg {i}", "source": "campaign",
                         "openml_did": pd.NA, "openml_task_id": pd.NA,
                         "task_type": "regression", "n_instances": len(y), "n_classes": pd.NA,
                         "n_features": X.shape[1] + 1, "has_missing": False, "id_mapping": ""})
        mf += [{"dataset_id": dataset_id, "quality": q, "value": v, "origin": "local",
                "source": "campaign"} for q, v in profile.items()]
        runs += [{"dataset_id": dataset_id, "configuration_id": c, "metric": metric,
                  "value": (_r2(profile, c, i) if metric == "r2" else 1 - _r2(profile, c, i)),
                  "higher_is_better": metric == "r2", "runtime_s": 0.1,
                  "source": "campaign", "openml_task_id": pd.NA} for c in CONFIGURATIONS]
    configurations = [{
        "configuration_id": c, "source": "campaign", "task_type": "regression",
        "algorithm": raw["algorithm"], "imputer": "median",
        "hyperparameters": json.dumps(raw["hyperparameters"]), "original": json.dumps(raw),
        "translation": "", "spec": json.dumps(pipelines.normalize_spec(
            {"task": "regression", "imputer": "median", **raw}))}
        for c, raw in CONFIGURATIONS.items()]
    tables = {"datasets": pd.DataFrame(datasets), "metafeatures": pd.DataFrame(mf),
              "configurations": pd.DataFrame(configurations), "runs": pd.DataFrame(runs)}
    store.write({n: schema.conform(n, f) for n, f in tables.items()},
                {"format": store.FORMAT, "kb_version": schema.KB_VERSION, "build_date": "test",
                 "sources": {"campaign": {"provenance": "tests/test_regression_evidence.py"}}},
                out)
    return out


@pytest.fixture(scope="module")
def r2_kb(tmp_path_factory) -> Path:
    return _write_kb(tmp_path_factory.mktemp("r2") / "kb")


def test_r2_evidence_is_chosen_bounded_above_and_floored(r2_kb: Path) -> None:
    kb = kb_module.load(r2_kb)
    evidence = choose_evidence(kb, "regression")
    assert (evidence.metric, evidence.higher_is_better) == ("r2", True)
    assert evidence.score_range == (float("-inf"), 1.0)
    _, performance = learner_inputs(kb, evidence)
    assert performance["mlp"].min() == R2_FLOOR  # -50 in the runs
    assert performance["ridge"].equals(kb.performance("r2")["ridge"])  # the rest untouched


def test_rmse_is_the_target_spread_times_root_of_unexplained_share() -> None:
    rmse = rmse_from_r2({"predicted_score": 0.75, "lower": 0.36, "upper": 1.0}, 2.0)
    assert rmse == {"predicted": 1.0, "lower": 0.0, "upper": 1.6, "target_std": 2.0}
    assert rmse_from_r2({"predicted_score": -3.0, "lower": -3.0, "upper": 1.0},
                        1.0)["predicted"] == 2.0


def test_recommend_gives_r2_and_rmse_in_the_targets_units_without_a_scale_warning(
        r2_kb: Path, cli, tmp_path: Path, monkeypatch) -> None:
    X, y = _table(150, 3, seed=99)
    y = 1000 * y  # the target's own units: far from any knowledge-base dataset's
    dataset = split_target(X.assign(y=y), "y", source="new")
    report = recommend(dataset, kb_module.load(r2_kb), top_k=3)
    assert report.evidence.metric == "r2"
    assert not any("scale of the knowledge base" in note for note in report.notes)
    spread = float(np.std(y))
    for rec in report.recommendations:
        rmse = rec["rmse"]
        assert rec["upper"] <= 1.0
        assert rmse["predicted"] == pytest.approx(spread * np.sqrt(1 - rec["predicted_score"]))
        assert rmse["lower"] <= rmse["predicted"] <= rmse["upper"]
    X.assign(y=y).to_csv(tmp_path / "new.csv", index=False)
    code, stdout, stderr = cli("recommend", str(tmp_path / "new.csv"), "-t", "y", "--kb",
                               str(r2_kb), "--json")
    assert code == 0, stderr
    payload = json.loads(stdout)
    assert payload["metric"] == "r2"
    assert all(r["rmse"]["target_std"] == pytest.approx(spread)
               for r in payload["recommendations"])
    monkeypatch.setenv("COLUMNS", "250")  # rich would wrap the header and caption
    code, stdout, stderr = cli("recommend", str(tmp_path / "new.csv"), "-t", "y", "--kb",
                               str(r2_kb))
    assert code == 0, stderr
    squeezed = "".join(stdout.split())  # the header and the caption wrap
    assert "RMSEin" in squeezed and "targetunits" in squeezed and "sqrt(1-R²)" in squeezed


def test_tuning_searches_the_penalised_linear_regressions_the_campaign_measured() -> None:
    from metarec.tuning.space import build_space

    space = build_space("regression", has_missing=False)
    spec = {"task": "regression", "algorithm": "elastic_net", "imputer": "median",
            "hyperparameters": {"alpha": 0.1, "l1_ratio": 0.9, "max_iter": 5000}}
    params = space.spec_to_params(spec)
    back = space.params_to_spec(params)
    assert back["algorithm"] == "elastic_net"
    assert back["hyperparameters"] == {"alpha": 0.1, "l1_ratio": 0.9, "max_iter": 5000}
    assert {"ridge", "lasso"} <= set(space.restricted(["ridge", "lasso"]).algorithms)
    assert "ridge" not in build_space("classification").algorithms  # regression only


def test_an_error_in_the_targets_units_as_evidence_orders_but_comes_with_a_warning(
        tmp_path: Path) -> None:
    kb = kb_module.load(_write_kb(tmp_path / "kb", metric="rmse"))
    X, y = _table(150, 3, seed=98)
    report = recommend(split_target(X.assign(y=y), "y", source="new"), kb, top_k=2)
    assert report.evidence.metric == "rmse"
    assert any("scale of the knowledge base's targets" in note for note in report.notes)
    assert all("rmse" not in rec for rec in report.recommendations)


def test_metarec_regressor_searches_within_its_budget_from_the_campaigns_evidence() -> None:
    import time

    from metarec import MetaRecRegressor
    from metarec.kb.store import default_path

    if not (default_path() / "manifest.json").is_file():
        pytest.skip("the shipped knowledge base is not built in this checkout")
    X, y = _table(600, 5, seed=7)
    started = time.monotonic()
    model = MetaRecRegressor(time_budget=30, n_trials=3, random_state=0).fit(X, y)
    assert time.monotonic() - started <= 1.1 * 30
    assert model.recommendation_source_ == "meta-learner"
    campaign = set(kb_module.load().configurations.query(
        "source == 'regression_campaign'")["algorithm"])
    assert {r["algorithm"] for r in model.recommendations_} <= campaign
    assert model.score(X, y) > 0.5
