"""The classification run campaign on a data folder of a few tiny tables laid out as
../shared/data is: the selection (classification tables only, one copy each, a table with a
single-row class left out with the reason), runs recorded as the error rates the Oboe matrix
uses, and the campaign preferred as evidence once it covers enough datasets."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from metarec.kb import load
from metarec.kb.campaigns import classification, regression
from metarec.kb.queries import MIN_DATASETS, OWN_SOURCES, choose_evidence


def _table(n: int, seed: int, classes: int = 2) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({"x1": rng.normal(size=n), "x2": rng.normal(size=n)})
    score = X["x1"] - X["x2"] + rng.normal(scale=0.5, size=n)
    labels = pd.qcut(score, classes, labels=[f"c{i}" for i in range(classes)]).astype(str)
    return X.assign(target=labels)


@pytest.fixture
def data_root(tmp_path) -> Path:
    root = tmp_path / "data"
    pmlb = root / "datasets" / "pmlb"
    single = _table(40, 3)
    single.loc[0, "target"] = "lonely"
    tables = {"201_alpha": (_table(60, 1), "classification"),
              "202_beta": (_table(90, 2, classes=3), "classification"),
              "203_gamma": (single, "classification"),
              "204_delta": (_table(50, 4).assign(target=lambda f: f["x1"] * 2.5),
                            "regression")}
    index = []
    for name, (frame, task) in tables.items():
        folder = pmlb / "datasets" / name
        folder.mkdir(parents=True)
        frame.to_csv(folder / f"{name}.tsv.gz", sep="\t", index=False)
        index.append({"name": name, "task": task, "openml_did": float(name[:3]),
                      "did_from": "name_prefix", "n_rows": len(frame), "n_features": 2,
                      "target_col": "target", "n_classes": "", "n_nan": 0})
    pmlb.joinpath("INDEX.csv").write_text(pd.DataFrame(index).to_csv(index=False))
    liac = root / "datasets" / "liac_arff"
    liac.mkdir(parents=True)
    liac.joinpath("INDEX.csv").write_text("path,parse_ok\nregression/other.arff.gz,True\n")
    return root


def test_selection_keeps_classification_tables_and_says_why_others_are_out(data_root, tmp_path):
    selection = classification.load_selection(tmp_path / "out", data_root)
    assert [e["name"] for e in selection["kept"]] == ["201_alpha", "202_beta"]
    reasons = {e["name"]: e["reason"] for e in selection["dropped"]}
    assert set(reasons) == {"203_gamma"}  # the regression table is not listed as a candidate
    assert "cannot be cross-validated" in reasons["203_gamma"] and "'lonely'" in reasons[
        "203_gamma"]


def test_campaign_records_error_rates_classes_and_its_own_configuration_ids(data_root,
                                                                            tmp_path):
    out = tmp_path / "out"
    figures = classification.run(out, data_root, configurations=3, folds=2)
    assert figures["finished"] == 2 and figures["ran_now"] == 6
    kb = load(out / "kb")
    assert set(kb.runs["metric"]) == {"balanced_error_rate", "error_rate"}
    assert not kb.runs["higher_is_better"].any()
    assert kb.runs["value"].between(0, 1).all()
    assert (kb.configurations["task_type"] == "classification").all()
    assert kb.configurations["configuration_id"].str.startswith("cc-").all()
    classes = kb.datasets.set_index("name")["n_classes"]
    assert classes["201_alpha"] == 2 and classes["202_beta"] == 3
    source = kb.manifest["sources"][classification.SOURCE]
    assert "classification run campaign" in source["provenance"]
    assert "balanced_error_rate" in source["provenance"]
    log = [json.loads(line) for line in (out / "datasets.jsonl").read_text().splitlines()]
    assert [r["configurations"] for r in log] == [3, 3]


def test_portfolio_takes_the_families_in_turn_with_todays_learners():
    specs = list(classification.portfolio().values())
    assert len(specs) == 193
    first = [s["algorithm"] for s in specs[:len(classification.GRIDS)]]
    assert first == list(classification.GRIDS)
    assert {"lightgbm", "hist_gradient_boosting"} <= set(first)
    assert all(s["task"] == "classification" for s in specs)


def test_logistic_regression_grid_spans_the_search_space_of_c():
    # A linear problem that wants weak regularisation is only in the evidence if the grid
    # reaches the range tuning searches.
    from metarec.tuning.space import build_space

    c_param = next(p for p in build_space("classification").params["logistic_regression"]
                   if p.name == "C")
    grid = classification.GRIDS["logistic_regression"][1]["C"]
    assert (min(grid), max(grid)) == (c_param.low, c_param.high)


def _history(source: str, datasets: int, configurations: int) -> pd.DataFrame:
    return pd.DataFrame([
        {"source": source, "metric": "balanced_error_rate", "higher_is_better": False,
         "dataset_id": f"{source}-{d}", "configuration_id": f"{source}-{c}", "value": 0.2}
        for d in range(datasets) for c in range(configurations)])


@pytest.mark.parametrize("campaign_datasets, chosen", [
    (MIN_DATASETS, classification.SOURCE), (MIN_DATASETS - 1, "oboe")])
def test_own_campaign_is_the_evidence_once_it_covers_enough_datasets(campaign_datasets, chosen):
    runs = pd.concat([_history("oboe", 60, 30), _history(classification.SOURCE,
                                                          campaign_datasets, 10)])
    configurations = pd.DataFrame({"configuration_id": runs["configuration_id"].unique(),
                                   "task_type": "classification"})
    kb = SimpleNamespace(runs=runs, configurations=configurations)
    evidence = choose_evidence(kb, "classification")
    assert evidence.source == chosen
    assert classification.SOURCE in OWN_SOURCES and regression.SOURCE in OWN_SOURCES


def test_a_sample_gives_a_class_it_leaves_one_row_a_second_and_otherwise_draws_as_before():
    from metarec.kb.campaigns.campaign import SAMPLE_SEED, sample

    labels = np.array(["common"] * 980 + ["rare"] * 20)
    X, y = pd.DataFrame({"row": np.arange(1000)}), pd.Series(labels)
    plain = np.sort(np.random.default_rng(SAMPLE_SEED).choice(1000, size=50, replace=False))
    seeds = [s for s in range(200)
             if (labels[np.random.default_rng(s).choice(1000, 50, replace=False)] == "rare"
                 ).sum() == 1]
    assert seeds  # some draw of 50 holds exactly one rare row
    Xs, ys = sample(X, y, 50, seed=seeds[0], task="classification")
    assert len(ys) == 51 and (ys == "rare").sum() == 2
    assert list(Xs["row"]) == sorted(Xs["row"]) and Xs.index.is_unique
    # no single-row class: the plain seeded draw; regression is never topped up
    assert list(sample(X, pd.Series(np.arange(1000) % 5), 50, task="classification")[0]["row"]
                ) == list(plain)
    assert len(sample(X, y, 50, seed=seeds[0])[1]) == 50
