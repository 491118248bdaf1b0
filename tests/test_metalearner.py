"""MetaLearner on small synthetic run histories where the right answer is known.

The synthetic world: configuration j has a setting t_j in [0, 1]; on a dataset whose meta-feature
``a`` is x, its performance is -(x - t_j)^2 plus noise. The single best configuration is the
middle one; a meta-learner that reads ``a`` should pick t close to x instead.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from metarec.metalearner import MetaLearner, evaluation
from metarec.metalearner.selection import PORTFOLIO_SIZES

FAST = {"n_estimators": 40, "n_members": 2, "min_child_samples": 5, "learning_rate": 0.15}


def make_world(n_datasets: int = 80, n_configs: int = 11, seed: int = 0):
    rng = np.random.RandomState(seed)
    a = rng.rand(n_datasets)
    mf = pd.DataFrame({
        "a": a,
        "NumberOfInstances": np.exp(rng.uniform(4, 12, n_datasets)),  # heavy-tailed count
        "noise": rng.rand(n_datasets),
        "mostly_missing": np.where(rng.rand(n_datasets) < 0.9, np.nan, 1.0),
    }, index=[f"d{i:03d}" for i in range(n_datasets)])
    t = np.linspace(0, 1, n_configs)
    perf = pd.DataFrame(-(a[:, None] - t[None, :]) ** 2 + 0.002 * rng.randn(n_datasets, n_configs),
                        index=mf.index, columns=[f"cfg{j:02d}" for j in range(n_configs)])
    configs = pd.DataFrame({"t": t, "family": ["left" if v < 0.5 else "right" for v in t]},
                           index=perf.columns)
    return mf, perf, configs


@pytest.fixture(scope="module")
def world():
    mf, perf, configs = make_world()
    return mf.iloc[:60], perf.iloc[:60], mf.iloc[60:], perf.iloc[60:], configs


@pytest.fixture(scope="module")
def fitted(world):
    mf, perf, _, _, configs = world
    return {m: MetaLearner(m, random_state=0, **FAST).fit(mf, perf, True, configs)
            for m in ("sbs", "knn", "surrogate", "forest", "auto")}


def top1_regret(learner: MetaLearner, mf_test: pd.DataFrame, perf_test: pd.DataFrame) -> float:
    ranking = learner.rank(mf_test, top_k=1)
    key = np.zeros(perf_test.shape)
    cols = list(perf_test.columns)
    for i, cfg in enumerate(ranking["configuration"]):
        key[i, cols.index(cfg)] = 1.0
    table = evaluation.per_dataset(perf_test.to_numpy(), key, key, ks=(1,))
    return float(table["regret@1"].mean())


@pytest.mark.parametrize("model", ["knn", "surrogate", "forest", "auto"])
def test_learners_recover_the_dependence_sbs_cannot(world, fitted, model):
    _, _, mf_test, perf_test, _ = world
    sbs = top1_regret(fitted["sbs"], mf_test, perf_test)
    learned = top1_regret(fitted[model], mf_test, perf_test)
    assert sbs > 0.1
    assert learned < 0.5 * sbs


def test_auto_reports_its_inner_validation(fitted):
    auto = fitted["auto"]
    table = auto.selection_
    assert {"knn", "sbs", "surrogate", "forest"} <= set(table.index)
    assert auto.candidate_.name == table.index[0]
    # one-standard-error rule: the winner is statistically tied with the lowest regret and has
    # the fewest components among those tied
    winner = table.iloc[0]
    assert winner["within_1se"] and table.loc[table["regret@1"].idxmin(), "within_1se"]
    assert winner["components"] == table.loc[table["within_1se"], "components"].min()
    # the near-copy threshold of rank(diverse=True) is the inner-validated one
    assert auto.similarity_threshold_ == auto.diversity_selection_.index[0]
    assert auto.diversity_selection_["regret@5"].is_monotonic_increasing
    # SBS cannot be chosen in a world where the meta-feature decides
    assert table.index[0] != "sbs"
    # no portfolio unless asked for one
    assert not any("portfolio" in name for name in table.index)
    assert auto.portfolio_ is None and auto.portfolio_size_ is None


def test_auto_chooses_the_portfolio_size_when_asked(world):
    mf, perf, mf_test, _, configs = world
    auto = MetaLearner("auto", portfolio="auto", random_state=0, **FAST).fit(mf, perf, True,
                                                                            configs)
    table = auto.selection_
    # every candidate is tried with each portfolio size and without one
    for size in PORTFOLIO_SIZES:
        assert f"forest + portfolio {size}" in table.index
    assert "forest" in table.index and len(table) == 5 * 36
    assert auto.portfolio_size_ == auto.candidate_.portfolio
    if auto.portfolio_size_ is None:
        assert auto.portfolio_ is None
    else:
        members = set(auto.configurations_[auto.portfolio_])
        assert 1 <= len(members) <= auto.portfolio_size_
        first = auto.rank(mf_test.iloc[[0]]).sort_values("rank")["configuration"]
        assert set(first.iloc[:len(members)]) == members


def test_a_portfolio_ranks_its_members_first(world):
    mf, perf, mf_test, _, _ = world
    learner = MetaLearner("forest", portfolio=3, random_state=0).fit(mf, perf, True)
    members = set(learner.configurations_[learner.portfolio_])
    assert len(members) == 3
    # the best configuration on average is the portfolio's first member
    assert learner.configurations_[learner.portfolio_[0]] == perf.mean().idxmax()
    position = {c: i for i, c in enumerate(learner.configurations_)}
    plain = learner.rank(mf_test).sort_values(["dataset", "rank"])
    diverse = learner.rank(mf_test, diverse=True).sort_values(["dataset", "rank"])
    departures = 0
    for (_, p), (_, d) in zip(plain.groupby("dataset"), diverse.groupby("dataset"), strict=True):
        p_order, d_order = list(p["configuration"]), list(d["configuration"])
        assert len(p_order) == perf.shape[1] and sorted(d_order) == sorted(p_order)
        assert set(p_order[:3]) == members == set(d_order[:3])
        # plain: members first, each part ordered by the score
        assert p["score"].iloc[:3].is_monotonic_decreasing
        assert p["score"].iloc[3:].is_monotonic_decreasing
        # diverse: the plain order, except that a near-copy of one already ranked is passed over
        assert d_order[0] == p_order[0]
        for i in range(1, len(d_order)):
            expected = next(c for c in p_order if c not in d_order[:i])
            if d_order[i] != expected:
                departures += 1
                closest = max(learner.similarity(position[c])[position[expected]]
                              for c in d_order[:i])
                assert closest >= learner.similarity_threshold_
    assert departures > 0  # the world has near-copies (neighbouring settings t)
    # without a portfolio the same forest ranks by its scores alone
    plain = MetaLearner("forest", portfolio=None, random_state=0).fit(mf, perf, True)
    assert plain.portfolio_ is None
    ranking = plain.rank(mf_test.iloc[[0]])
    assert ranking["score"].is_monotonic_decreasing


@pytest.mark.parametrize("model", ["sbs", "knn", "surrogate", "forest", "auto"])
def test_shapes_alignment_and_non_negative_uncertainty(world, fitted, model):
    _, perf, mf_test, _, _ = world
    learner = fitted[model]
    pred = learner.predict(mf_test)
    unc = learner.predict_uncertainty(mf_test)
    assert list(pred.index) == list(mf_test.index) == list(unc.index)
    assert list(pred.columns) == list(perf.columns) == list(unc.columns)
    assert np.isfinite(pred.to_numpy()).all()
    assert (unc.to_numpy() >= 0).all() and np.isfinite(unc.to_numpy()).all()
    # column order and extra columns of the query must not matter
    shuffled = mf_test[mf_test.columns[::-1]].assign(unknown_quality=1.0)
    pd.testing.assert_frame_equal(learner.predict(shuffled), pred)


def test_predictions_are_on_the_original_scale(world, fitted):
    _, perf, mf_test, perf_test, _ = world
    pred = fitted["surrogate"].predict(mf_test)
    assert perf.min().min() - 0.2 < pred.to_numpy().mean() < 0.05
    # predicted and true performance agree in order within each dataset
    corr = [np.corrcoef(pred.loc[d], perf_test.loc[d])[0, 1] for d in mf_test.index]
    assert np.median(corr) > 0.7


def test_nan_in_performance_and_meta_features(world):
    mf, perf, mf_test, _, configs = world
    rng = np.random.RandomState(1)
    perf = perf.mask(rng.rand(*perf.shape) < 0.3)  # 30% "not run"
    perf.iloc[0] = np.nan  # a dataset with no run at all is ignored
    mf = mf.copy()
    mf.iloc[::7, 1] = np.nan
    query = mf_test.copy()
    query.iloc[0, :] = np.nan  # nothing known about this one
    query.iloc[1, 0] = np.nan
    for model in ("knn", "surrogate", "forest", "sbs"):
        learner = MetaLearner(model, random_state=0, **FAST).fit(mf, perf, True, configs)
        assert learner.datasets_[0] != perf.index[0]
        assert "mostly_missing" not in learner.metafeature_names_
        assert np.isfinite(learner.predict(query).to_numpy()).all()
        assert len(learner.rank(query, top_k=3)) == 3 * len(query)
    assert learner.out_of_distribution(query)["is_ood"].iloc[0]


def test_maximize_false_mirrors_maximize_true(world):
    mf, perf, mf_test, _, configs = world
    up = MetaLearner("knn").fit(mf, perf, True, configs)
    down = MetaLearner("knn").fit(mf, -perf, False, configs)
    pd.testing.assert_frame_equal(up.rank(mf_test)[["dataset", "configuration"]],
                                  down.rank(mf_test)[["dataset", "configuration"]])
    pd.testing.assert_frame_equal(up.predict(mf_test), -down.predict(mf_test))


def test_knn_is_autosklearns_warm_start_order(world, fitted):
    mf, perf, _, _, _ = world
    learner = fitted["knn"]
    query = mf.iloc[[5]]
    nearest = learner.neighbours(query, k=len(mf))
    expected = list(dict.fromkeys(perf.loc[nearest["neighbour"]].idxmax(axis=1)))
    ranked = list(learner.rank(query)["configuration"])
    assert ranked[: len(expected)] == expected


def test_neighbours_and_ood(world, fitted):
    mf, _, mf_test, _, _ = world
    learner = fitted["knn"]
    near = learner.neighbours(mf.iloc[[3]], k=3)
    assert list(near["neighbour"])[0] == mf.index[3] and near["distance"].iloc[0] == 0.0
    assert near["distance"].is_monotonic_increasing
    far = mf_test.iloc[[0]].copy()
    far.iloc[0] = [25.0, 1e15, -30.0, np.nan]
    ood = learner.out_of_distribution(pd.concat([mf_test, far.rename(index=lambda _: "far")]))
    assert list(ood.columns) == ["distance", "threshold", "is_ood"]
    assert ood.loc["far", "is_ood"]
    assert ood.loc[mf_test.index, "is_ood"].mean() <= 0.2
    # calibration: about 1% of the KB itself lies beyond the 99th percentile
    assert (learner.kb_nearest_distances_ > learner.ood_threshold_).mean() <= 0.05


def test_surrogate_scores_configurations_never_run(world):
    mf, perf, mf_test, _, configs = world
    seen = [c for c in perf.columns if c not in ("cfg02", "cfg08")]  # t = 0.2 and 0.8 never run
    learner = MetaLearner("surrogate", random_state=0, **FAST).fit(
        mf, perf[seen], True, configs.loc[seen])
    new = pd.DataFrame({"t": [0.2, 0.8], "family": ["left", "right"]}, index=["t02", "t08"])
    pred = learner.predict(mf_test, configuration_features=new)
    assert list(pred.columns) == ["t02", "t08"]
    prefers_high = pred["t08"] > pred["t02"]
    assert (prefers_high == (mf_test["a"] > 0.5)).mean() >= 0.8
    with pytest.raises(ValueError, match="new configurations"):
        MetaLearner("knn").fit(mf, perf, True, configs).predict(
            mf_test, configuration_features=new)


def test_diverse_ranking_skips_near_copies(world):
    mf, perf, mf_test, _, _ = world
    rng = np.random.RandomState(2)
    copies = perf.add_suffix("_copy") + 1e-5 * rng.randn(*perf.shape)
    learner = MetaLearner("sbs").fit(mf, pd.concat([perf, copies], axis=1), True)
    plain = learner.rank(mf_test.iloc[[0]], top_k=4)["configuration"]
    diverse = learner.rank(mf_test.iloc[[0]], top_k=4, diverse=True)["configuration"]
    stems = [c.removesuffix("_copy") for c in diverse]
    assert len(set(stems)) == 4
    assert len({c.removesuffix("_copy") for c in plain}) < 4


def test_random_state_makes_fits_reproducible(world):
    mf, perf, mf_test, _, configs = world
    one = MetaLearner("surrogate", random_state=3, **FAST).fit(mf, perf, True, configs)
    two = MetaLearner("surrogate", random_state=3, **FAST).fit(mf, perf, True, configs)
    pd.testing.assert_frame_equal(one.predict(mf_test), two.predict(mf_test))
    pd.testing.assert_frame_equal(one.predict_uncertainty(mf_test),
                                  two.predict_uncertainty(mf_test))


def test_bad_use_is_refused(world):
    mf, perf, _, _, _ = world
    with pytest.raises(ValueError, match="unknown model"):
        MetaLearner("magic").fit(mf, perf, True)  # type: ignore[arg-type]
    with pytest.raises(RuntimeError, match="not fitted"):
        MetaLearner().predict(mf)
    with pytest.raises(ValueError, match="two datasets"):
        MetaLearner("sbs").fit(mf.iloc[:1], perf.iloc[:1], True)
    for bad in (0, -3, True, "big", 2.5):
        with pytest.raises(ValueError, match="portfolio must be"):
            MetaLearner("sbs", portfolio=bad).fit(mf, perf, True)  # type: ignore[arg-type]


def test_evaluation_figures_by_hand():
    # higher is better; dataset 0: configs score 0.9, 0.5, 0.7; dataset 1: 0.2, 0.6, 0.4
    truth = np.array([[0.9, 0.5, 0.7], [0.2, 0.6, 0.4]])
    model = np.array([[1.0, 0.0, 2.0], [0.0, 2.0, 1.0]])  # top-1: 0.7 and 0.6; top-2 adds 0.9
    sbs = np.array([[0.0, 2.0, 1.0], [0.0, 2.0, 1.0]])  # always config 1: 0.5 and 0.6
    table = evaluation.per_dataset(truth, model, sbs, ks=(1, 2))
    assert table["sbs"].tolist() == [0.5, 0.6]
    assert table["chosen@1"].tolist() == [0.7, 0.6]
    assert table["regret@1"].tolist() == pytest.approx([0.5, 0.0])
    assert table["rank@1"].tolist() == [2.0, 1.0]
    assert table["chosen@2"].tolist() == [0.9, 0.6]
    # gap: sum(chosen - sbs) / sum(vbs - sbs) = (0.2 + 0) / (0.4 + 0) = 0.5
    assert evaluation.gap_closed(table, 1) == pytest.approx(0.5)
    assert evaluation.gap_closed(table, 2) == pytest.approx(1.0)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(n_datasets=st.integers(3, 9), n_configs=st.integers(1, 5),
       seed=st.integers(0, 10_000), missing=st.floats(0.0, 0.6))
def test_any_small_matrix_gives_a_complete_ranking(n_datasets, n_configs, seed, missing):
    rng = np.random.RandomState(seed)
    mf = pd.DataFrame(rng.randn(n_datasets, 3), columns=["x", "y", "z"])
    perf = pd.DataFrame(rng.rand(n_datasets, n_configs)).mask(rng.rand(n_datasets, n_configs)
                                                              < missing)
    perf.iloc[:, 0] = perf.iloc[:, 0].fillna(0.5)  # every dataset has at least one run
    for model in ("sbs", "knn"):
        learner = MetaLearner(model, portfolio=1 + seed % 3).fit(mf, perf, bool(seed % 2))
        ranking = learner.rank(mf.iloc[:2])
        kept = len(learner.configurations_)
        assert sorted(ranking["rank"]) == sorted(list(range(1, kept + 1)) * 2)
        assert (ranking.groupby("dataset")["configuration"].nunique() == kept).all()
        assert (learner.predict_uncertainty(mf.iloc[:2]).to_numpy() >= 0).all()


def test_sbs_is_the_best_mean_on_a_complete_matrix(world):
    mf, perf, mf_test, _, _ = world
    top = MetaLearner("sbs").fit(mf, perf, True).rank(mf_test.iloc[[0]], top_k=1)
    assert top["configuration"].iloc[0] == perf.mean().idxmax()
    top = MetaLearner("sbs").fit(mf, 1 - perf, False).rank(mf_test.iloc[[0]], top_k=1)
    assert top["configuration"].iloc[0] == perf.mean().idxmax()


def test_candidate_set_is_the_greedy_portfolio_in_the_learners_order() -> None:
    # a is the best on the first half of the datasets, b on the second half, c is second
    # everywhere and d never helps: the greedy portfolio takes the single best (c) first, then
    # a and b (each covers half), never d.
    n = 20
    meta = pd.DataFrame({"NumberOfInstances": np.arange(n, dtype=float) * 100 + 50,
                         "ClassEntropy": np.linspace(0.1, 1.0, n)},
                        index=[f"d{i}" for i in range(n)])
    first = np.arange(n) < n // 2
    perf = pd.DataFrame({"a": np.where(first, 0.95, 0.50), "b": np.where(first, 0.50, 0.95),
                         "c": np.full(n, 0.80), "d": np.full(n, 0.40)}, index=meta.index)
    learner = MetaLearner(model="knn", random_state=0).fit(meta, perf, maximize=True)
    assert set(learner.candidate_set(meta.iloc[[0]], k=2)["configuration"]) == {"c", "a"}
    table = learner.candidate_set(meta.iloc[[0, n - 1]], k=3)
    for dataset, rows in table.groupby("dataset", sort=False):
        assert rows["position"].tolist() == [1, 2, 3]
        assert set(rows["configuration"]) == {"a", "b", "c"}
        # in the learner's order: what wins near this dataset first
        assert rows["configuration"].iloc[0] == ("a" if dataset == "d0" else "b")
        ranked = learner.rank(meta.loc[[dataset]])["configuration"]
        assert rows["configuration"].tolist() == [c for c in ranked if c in {"a", "b", "c"}]
        # the nearest datasets all reach 0.95 with the first try already
        assert rows["expected_best"].tolist() == pytest.approx([0.95, 0.95, 0.95])


def test_calibration_makes_one_uncertainty_hold_two_thirds_of_errors_per_rank_bucket():
    from metarec.metalearner.selection import (
        CALIBRATION_COVERAGE,
        bucket_scales,
        calibration_scales,
    )

    rng = np.random.RandomState(0)
    position = np.tile(np.arange(1, 101), 60)
    # errors in units of the raw spread: twice as large at the top five as further down
    ratio = np.abs(rng.randn(len(position))) * np.where(position <= 5, 2.0, 1.0)
    overall, *buckets = calibration_scales(ratio, position)
    assert buckets[0] == pytest.approx(2.0, rel=0.15)
    assert buckets[1] == pytest.approx(1.0, rel=0.15) and buckets[3] == pytest.approx(1.0, rel=0.1)
    assert 1.0 < overall < 1.3
    calibrated = ratio / bucket_scales(buckets, position)
    for low, high in ((0, 5), (5, 20), (20, 50), (50, 100)):
        inside = (position > low) & (position <= high)
        assert (calibrated[inside] <= 1).mean() == pytest.approx(CALIBRATION_COVERAGE, abs=0.02)
    # a bucket without enough held-out cells takes the overall factor
    few = calibration_scales(ratio[position > 5], position[position > 5])
    assert few[1] == few[0]


def test_auto_uncertainty_covers_about_two_thirds_of_held_out_errors(world, fitted):
    _, _, mf_test, perf_test, _ = world
    auto = fitted["auto"]
    error = np.abs(perf_test.to_numpy() - auto.predict(mf_test).to_numpy())
    coverage = (error <= auto.predict_uncertainty(mf_test).to_numpy()).mean()
    assert 0.45 <= coverage <= 0.85  # 220 held-out cells: a wide band around 68%
    assert len(auto.uncertainty_scales_) == 4 and (auto.uncertainty_scales_ > 0).all()
