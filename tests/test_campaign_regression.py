"""The regression run campaign end to end on a data folder of a few tiny tables laid out as
../shared/data is: selection (one copy per table, reasons for the rest), sampling, runs with R²
and RMSE / std, meta-features, provenance, a Dask cluster, and resuming after an interruption."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from metarec.kb import add, load
from metarec.kb.campaigns import regression

CONFIGURATIONS = 5  # ridge, lasso, elastic net, kNN, SVR: the portfolio takes algorithms in turn


def _table(n: int, seed: int, missing: bool = False) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({"x1": rng.normal(size=n), "x2": rng.normal(size=n),
                      "x3": rng.uniform(size=n)})
    target = 3 * X["x1"] - 2 * X["x2"] ** 2 + rng.normal(scale=0.3, size=n)
    if missing:
        X.loc[::7, "x3"] = np.nan
    return X.assign(target=target.round(6))


def _arff(path: Path, frame: pd.DataFrame, target: str) -> None:
    lines = ["@relation t"] + [f"@attribute {c} numeric" for c in frame.columns if c != "target"]
    lines += [f"@attribute {target} numeric", "@data"]
    lines += [",".join("?" if pd.isna(v) else repr(float(v)) for v in row)
              for row in frame.itertuples(index=False)]
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wt", encoding="utf-8") as handle:
        handle.write("\n".join(lines) + "\n")


@pytest.fixture
def data_root(tmp_path) -> Path:
    """Two PMLB regression tables (one larger than the row cap), a PMLB classification table,
    and LIAC copies: one by name, one by content, one whose target is a handful of levels."""
    root = tmp_path / "data"
    pmlb = root / "datasets" / "pmlb"
    tables = {"101_alpha": _table(80, 1), "102_beta": _table(70, 2, missing=True),
              "103_gamma": _table(60, 3).assign(target=lambda f: (f["target"] > 0).astype(int))}
    index = []
    for name, frame in tables.items():
        folder = pmlb / "datasets" / name
        folder.mkdir(parents=True)
        frame.to_csv(folder / f"{name}.tsv.gz", sep="\t", index=False)
        task = "classification" if name == "103_gamma" else "regression"
        index.append({"name": name, "task": task, "openml_did": float(name[:3]),
                      "did_from": "name_prefix", "n_rows": len(frame), "n_features": 3,
                      "target_col": "target", "n_classes": "", "n_nan": 0})
    pmlb.joinpath("INDEX.csv").write_text(pd.DataFrame(index).to_csv(index=False))
    liac = root / "datasets" / "liac_arff"
    _arff(liac / "regression" / "alpha.arff.gz", tables["101_alpha"], "y")  # by name
    _arff(liac / "regression" / "renamed.arff.gz", tables["102_beta"], "y")  # by content
    levels = _table(60, 4).assign(target=np.tile([0.5, 1.5, 2.5], 20))
    _arff(liac / "regression" / "levels.arff.gz", levels, "y")
    liac.joinpath("INDEX.csv").write_text(
        "path,parse_ok\nregression/alpha.arff.gz,True\nregression/renamed.arff.gz,True\n"
        "regression/levels.arff.gz,True\nregression/broken.arff.gz,False\n"
        "classification/other.arff.gz,True\n")
    return root


def test_selection_keeps_one_copy_of_each_regression_table_and_says_why(data_root, tmp_path):
    selection = regression.load_selection(tmp_path / "out", data_root)
    assert [k["dataset_id"] for k in selection["kept"]] == ["openml-101", "openml-102"]
    reasons = {d["name"]: d["reason"] for d in selection["dropped"]}
    assert reasons["alpha"] == "same table as pmlb/101_alpha (same name)"
    assert reasons["renamed"] == "same table as pmlb/102_beta (same shape and target values)"
    assert "takes only 3 distinct values" in reasons["levels"]
    assert set(reasons) == {"alpha", "renamed", "levels"}
    assert selection["kept"][1]["has_missing"] and not selection["kept"][0]["has_missing"]


def test_portfolio_spans_the_families_and_adds_imputers_where_values_are_missing():
    complete, missing = regression.portfolio(), regression.portfolio(has_missing=True)
    algorithms = [spec["algorithm"] for spec in complete.values()]
    assert 150 <= len(complete) <= 400
    assert set(algorithms[:10]) == set(regression.GRIDS) == {
        "ridge", "lasso", "elastic_net", "k_nearest_neighbors", "svm", "random_forest",
        "extra_trees", "hist_gradient_boosting", "lightgbm", "mlp"}
    extra = [missing[c] for c in missing if c not in complete]
    assert {s["imputer"]["name"] for s in extra} >= {"median", "knn", "iterative", "constant"}
    assert set(complete) < set(missing)


def test_campaign_runs_samples_records_and_resumes(data_root, tmp_path, monkeypatch,
                                                    dask_cluster):
    out = tmp_path / "out"
    real_append = add.append_jsonl
    appended: list[str] = []

    def append_then_interrupt(path, records):
        real_append(path, records)
        appended.extend(record["configuration_id"] for record in records)
        if len(appended) == CONFIGURATIONS + 2:  # the second dataset, two results in
            raise KeyboardInterrupt

    monkeypatch.setattr(add, "append_jsonl", append_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        regression.run(out, data_root, configurations=CONFIGURATIONS, folds=3, max_rows=50,
                       scheduler=dask_cluster.scheduler_address)
    kb = load(out / "kb")
    assert list(kb.datasets["dataset_id"]) == ["openml-101"]  # the first dataset is committed

    # Which configurations the resumed run evaluates, as files: the workers may get copies.
    evaluated = tmp_path / "evaluated"
    evaluated.mkdir()
    real_evaluate = add._evaluate

    def logged(config_id, *args):
        from distributed import get_worker

        get_worker()  # raises outside a Dask worker: the cluster does the work
        (evaluated / config_id).touch(exist_ok=False)  # twice would fail: nothing repeats
        return real_evaluate(config_id, *args)

    monkeypatch.setattr(add, "append_jsonl", real_append)
    monkeypatch.setattr(add, "_evaluate", logged)
    figures = regression.run(out, data_root, configurations=CONFIGURATIONS, folds=3,
                             max_rows=50, scheduler=dask_cluster.scheduler_address)
    second = appended[CONFIGURATIONS:]  # what the second dataset had finished when stopped
    assert figures["ran_now"] == CONFIGURATIONS - len(second) == len(list(evaluated.iterdir()))
    assert not {p.name for p in evaluated.iterdir()} & set(second)
    again = regression.run(out, data_root, configurations=CONFIGURATIONS, folds=3, max_rows=50)
    assert again["ran_now"] == 0 and again["finished"] == 2

    kb = load(out / "kb")
    assert kb.manifest["sources"][regression.SOURCE]["details"]["max_rows"] == 50
    assert set(kb.runs["source"]) == {regression.SOURCE} and kb.runs["value"].notna().all()
    r2 = kb.performance("r2")
    ratio = kb.performance("rmse_over_std")
    assert r2.shape == ratio.shape == (2, CONFIGURATIONS)
    # Scored on held-out folds of one table: R² = 1 - MSE / var(y) up to the fold spread.
    assert np.allclose(np.sqrt(np.clip(1 - r2, 0, None)), ratio, atol=0.25)
    assert (kb.runs["runtime_s"] > 0).all()
    rows = kb.datasets.set_index("dataset_id")["n_instances"]
    assert rows["openml-101"] == 50 and rows["openml-102"] == 50  # both sampled to the cap
    qualities = kb.metafeatures.groupby("dataset_id")["quality"].agg(set)
    for group in ("NumberOfInstances", "MeanMeansOfNumericAtts", "LinearRegressionR2"):
        assert all(group in q for q in qualities)  # simple, statistical, landmarking
    assert "RowsWithMissingRate" in qualities["openml-102"]  # missingness
    log = [json.loads(line) for line in (out / "datasets.jsonl").read_text().splitlines()]
    assert [(r["rows_in_file"], r["rows_used"], r["sample_seed"]) for r in log] == [
        (80, 50, 0), (70, 50, 0)]
    assert not list((out / "kb").glob(".add-*.jsonl"))  # resume files tidied away


def test_the_command_says_in_one_sentence_what_is_wrong(tmp_path, capsys):
    code = regression.main(["--out", str(tmp_path / "out"), "--data", str(tmp_path / "none")])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1
    assert f"{tmp_path / 'none'} has no datasets/ folder" in err
    assert not (tmp_path / "out").exists()


def test_smallest_first_runs_the_smaller_table_first(data_root, tmp_path):
    out = tmp_path / "out"
    regression.run(out, data_root, configurations=1, folds=2, smallest_first=True)
    log = [json.loads(line) for line in (out / "datasets.jsonl").read_text().splitlines()]
    assert [(r["name"], r["rows_used"]) for r in log] == [("102_beta", 70), ("101_alpha", 80)]


def test_kb_build_imports_a_campaign_as_it_wrote_it(data_root, shared_data, tmp_path, cli):
    out = tmp_path / "out"
    regression.run(out, data_root, configurations=2, folds=2)
    shipped = tmp_path / "kb"
    code, _, err = cli("kb", "build", "--from", str(shared_data), "--source", "tabrepo",
                       "--campaign", str(out / "kb"), "--out", str(shipped))
    assert code == 0, err
    campaign, kb = load(out / "kb"), load(shipped)
    mine = kb.runs[kb.runs["source"] == regression.SOURCE]
    key = ["dataset_id", "configuration_id", "metric"]
    pd.testing.assert_frame_equal(
        mine.sort_values(key).reset_index(drop=True)[[*key, "value"]],
        campaign.runs.sort_values(key).reset_index(drop=True)[[*key, "value"]])
    ids = kb.datasets.set_index("dataset_id")
    assert {"openml-101", "openml-102"} <= set(ids.index)
    assert ids.loc["openml-101", "id_mapping"] == campaign.datasets.set_index(
        "dataset_id").loc["openml-101", "id_mapping"]
    local = kb.metafeatures[(kb.metafeatures["source"] == regression.SOURCE)]
    assert local["dataset_id"].nunique() == 2 and (local["origin"] == "local").all()
    stated = kb.manifest["sources"][regression.SOURCE]
    assert stated["runs"] == len(mine) and "5-fold" not in stated["provenance"]
    assert "2-fold cross-validation" in stated["provenance"]


def test_kb_build_refuses_a_folder_that_is_no_campaign(shared_data, tmp_path, cli):
    code, _, err = cli("kb", "build", "--from", str(shared_data), "--source", "tabrepo",
                       "--campaign", str(tmp_path / "none"), "--out", str(tmp_path / "kb"))
    assert code != 0 and err.count("\n") <= 2 and "Traceback" not in err
