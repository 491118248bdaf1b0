"""The right few candidates: a set of k configurations to try on a new dataset, measured as the
share of the single-best-to-oracle gap its best member closes (best of k).

    .venv/bin/python -m bench.bench_portfolio [--seeds 0 1 2] [--folds 10] [--no-write]

Outer 10-fold cross-validation over datasets (the same permutation split as
bench/bench_metalearner.py, one per fold seed), on the Oboe matrix and the OpenML100 cells. In
every fold, built from the training datasets only:

* ``static portfolio`` -- auto-sklearn 2.0's greedy portfolio (every training dataset counts);
* ``kNN warm start`` -- auto-sklearn 1.0's: the best configurations of the nearest datasets;
* ``conditioned, N nearest`` -- the greedy portfolio built on the N training datasets nearest to
  the held-out one (meta-feature distance as ``metarec recommend`` measures it);
* ``mixture, lam on 25 nearest`` -- the greedy portfolio with the training datasets weighted
  alike, plus ``lam`` of the weight on the 25 nearest;
* ``static, ordered by N nearest`` -- the static portfolio's members, ordered by their mean regret
  on the N nearest datasets (the static set ordered by a meta-learner);
* ``conditioned, inner-validated`` -- one of the above chosen per outer fold by an inner 3-fold
  validation on the training datasets (the static portfolio is among the options);
* ``meta-learner top-k`` -- the diverse ranking of the meta-learner (``--with-auto``; slow);
* ``static, ordered by the meta-learner`` -- the static portfolio in the meta-learner's order,
  i.e. the set ``metarec recommend`` shows (``--with-auto``).

gap closed@k = sum(best of the set's first k - SBS) / sum(VBS - SBS) over held-out datasets,
SBS = the training fold's single best configuration, VBS = the dataset's best configuration
(evaluation as in metarec/metalearner/evaluation.py: a configuration not run on a dataset is
skipped). The difference of two methods comes with a 95% bootstrap interval over datasets
(2,000 resamples of the held-out datasets, each dataset's figures averaged over fold seeds).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from bench.bench_metalearner import oboe, openml100_cells
from bench.report import machine_line, write_section
from metarec.metalearner import MetaLearner, evaluation
from metarec.metalearner.portfolio import greedy_cover, normalised_regret
from metarec.metalearner.preprocess import MetaFeatureScaler, mean_l1_distance

KS = (1, 3, 5, 10)
NEIGHBOURHOODS = (10, 25, 50, 100)
BOOT = 2000


def _key(orders: list[np.ndarray], n_configurations: int) -> np.ndarray:
    """Per dataset, the set's members first (in order), then nothing: a key for chosen_at_k."""
    key = np.full((len(orders), n_configurations), -np.inf)
    for i, order in enumerate(orders):
        key[i, order] = -np.arange(len(order), dtype=float)
    return key


def _distances(mf_train: pd.DataFrame, mf_query: pd.DataFrame) -> np.ndarray:
    scaler = MetaFeatureScaler().fit(mf_train)
    reference = scaler.impute(scaler.transform(mf_train))
    return mean_l1_distance(scaler.transform(mf_query), reference)


def conditioned_sets(regret: np.ndarray, distances: np.ndarray, size: int,
                     option: tuple) -> list[np.ndarray]:
    """One set per query (row of ``distances``) built from the training ``regret`` matrix.

    ``option``: ("static",) -- the greedy portfolio of all training datasets, the same for every
    query; ("nearest", N) -- the greedy portfolio of the query's N nearest datasets;
    ("mixture", N, lam) -- datasets weighted (1 - lam) alike plus lam on the N nearest;
    ("ordered", N) -- the static portfolio of ``size``, its members ordered by their mean score
    on the query's N nearest datasets (the static set, ordered by a meta-learner)."""
    kind = option[0]
    n = regret.shape[0]
    if kind == "static":
        static = greedy_cover(regret, size, fill=True)
        return [static] * len(distances)
    out = []
    static = greedy_cover(regret, size, fill=True) if kind == "ordered" else None
    for row in distances:
        nearest = np.argsort(row, kind="stable")[:min(option[1], n)]
        if kind == "nearest":
            out.append(greedy_cover(regret[nearest], size, fill=True))
        elif kind == "mixture":
            weights = np.full(n, (1.0 - option[2]) / n)
            weights[nearest] += option[2] / len(nearest)
            out.append(greedy_cover(regret, size, fill=True, weights=weights))
        else:
            local = regret[nearest][:, static].mean(axis=0)
            out.append(static[np.argsort(local, kind="stable")])
    return out


OPTIONS: dict[str, tuple] = {
    "static portfolio": ("static",),
    **{f"conditioned, {n} nearest": ("nearest", n) for n in NEIGHBOURHOODS},
    **{f"mixture, {lam:.2f} on 25 nearest": ("mixture", 25, lam) for lam in (0.25, 0.5)},
    "static, ordered by 10 nearest": ("ordered", 10),
    "static, ordered by 25 nearest": ("ordered", 25),
}


def _gap(truth: np.ndarray, key: np.ndarray, sbs_key: np.ndarray, k: int) -> float:
    table = evaluation.per_dataset(truth, key, sbs_key, ks=(k,))
    return evaluation.gap_closed(table, k)


def _inner_choice(mf: pd.DataFrame, truth: np.ndarray, seed: int) -> str:
    """The option of :data:`OPTIONS` with the highest mean gap closed at k = 3 and 10 in an inner
    3-fold validation on the training datasets (ties: the static portfolio)."""
    n = len(truth)
    folds = np.array_split(np.random.RandomState(seed + 1000).permutation(n), 3)
    score: dict[str, list[float]] = {name: [] for name in OPTIONS}
    for held in folds:
        train = np.setdiff1d(np.arange(n), held)
        regret = normalised_regret(truth[train])
        dist = _distances(mf.iloc[train], mf.iloc[held])
        sbs_key = _key([greedy_cover(regret, 1, fill=True)] * len(held), truth.shape[1])
        for name, option in OPTIONS.items():
            key = _key(conditioned_sets(regret, dist, max(KS), option), truth.shape[1])
            score[name].append(np.mean([_gap(truth[held], key, sbs_key, k) for k in (3, 10)]))
    return max(OPTIONS, key=lambda name: (np.mean(score[name]), name == "static portfolio"))


def run(name: str, mf: pd.DataFrame, perf: pd.DataFrame, maximize: bool, seeds: list[int],
        folds: int, with_auto: bool) -> tuple[dict[str, pd.DataFrame], dict]:
    datasets = perf.index[perf.index.isin(mf.index) & perf.notna().any(axis=1)]
    perf, mf = perf.loc[datasets], mf.loc[~mf.index.duplicated()].loc[datasets]
    truth_all = perf.to_numpy() if maximize else -perf.to_numpy()
    n = len(datasets)
    methods = [*OPTIONS, "kNN warm start", "conditioned, inner-validated"] + (
        ["meta-learner top-k", "static, ordered by the meta-learner"] if with_auto else [])
    # per method: datasets x seeds x (chosen@k for each k), plus sbs and vbs per dataset x seed
    chosen = {m: np.full((n, len(seeds), len(KS)), np.nan) for m in methods}
    sbs = np.full((n, len(seeds)), np.nan)
    vbs = np.nanmax(truth_all, axis=1)
    choices: list[str] = []
    started = time.perf_counter()
    for s, seed in enumerate(seeds):
        splits = np.array_split(np.random.RandomState(seed).permutation(n), min(folds, n))
        for held in splits:
            train = np.setdiff1d(np.arange(n), held)
            truth = truth_all[held]
            regret = normalised_regret(truth_all[train])
            dist = _distances(mf.iloc[train], mf.iloc[held])
            sbs_key = _key([greedy_cover(regret, 1, fill=True)] * len(held), perf.shape[1])
            sbs[held, s] = evaluation.chosen_at_k(truth, sbs_key, 1)
            keys = {name: _key(conditioned_sets(regret, dist, max(KS), option), perf.shape[1])
                    for name, option in OPTIONS.items()}
            best = _inner_choice(mf.iloc[train], truth_all[train], seed)
            choices.append(best)
            keys["conditioned, inner-validated"] = keys[best]
            knn = MetaLearner(model="knn", random_state=seed).fit(
                mf.iloc[train], perf.iloc[train], maximize)
            keys["kNN warm start"] = _rank_key(knn.rank(mf.iloc[held]), mf.index[held],
                                               perf.columns)
            if with_auto:
                auto = MetaLearner(model="auto", random_state=seed).fit(
                    mf.iloc[train], perf.iloc[train], maximize)
                keys["meta-learner top-k"] = _rank_key(auto.rank(mf.iloc[held], diverse=True),
                                                       mf.index[held], perf.columns)
                # what `metarec recommend` shows as the set to try first
                keys["static, ordered by the meta-learner"] = _rank_key(
                    auto.candidate_set(mf.iloc[held], k=max(KS)).rename(
                        columns={"position": "rank"}), mf.index[held], perf.columns)
            for method in methods:
                for j, k in enumerate(KS):
                    chosen[method][held, s, j] = evaluation.chosen_at_k(truth, keys[method], k)
        print(f"  {name} seed {seed} done ({time.perf_counter() - started:.0f} s)", flush=True)
    info = {"datasets": n, "configurations": perf.shape[1], "seeds": seeds, "folds": folds,
            "inner choices": pd.Series(choices).value_counts().to_dict(),
            "seconds": time.perf_counter() - started}
    return {"chosen": chosen, "sbs": sbs, "vbs": vbs}, info


def _rank_key(ranking: pd.DataFrame, datasets: pd.Index, configurations: pd.Index) -> np.ndarray:
    key = np.full((len(datasets), len(configurations)), -np.inf)
    key[datasets.get_indexer(ranking["dataset"]),
        configurations.get_indexer(ranking["configuration"])] = -ranking["rank"].to_numpy(float)
    return key


def gap_per_seed(result: dict, method: str, j: int) -> np.ndarray:
    chosen, sbs, vbs = result["chosen"][method][:, :, j], result["sbs"], result["vbs"][:, None]
    return np.nansum(chosen - sbs, axis=0) / np.nansum(vbs - sbs, axis=0)


def bootstrap_difference(result: dict, a: str, b: str, j: int,
                         rng: np.random.Generator) -> tuple[float, float, float]:
    """Gap closed of ``a`` minus ``b`` (seed-averaged per dataset) and its 95% bootstrap CI."""
    gain_a = np.nanmean(result["chosen"][a][:, :, j] - result["sbs"], axis=1)
    gain_b = np.nanmean(result["chosen"][b][:, :, j] - result["sbs"], axis=1)
    span = np.nanmean(result["vbs"][:, None] - result["sbs"], axis=1)
    ok = ~(np.isnan(gain_a) | np.isnan(gain_b) | np.isnan(span))
    gain_a, gain_b, span = gain_a[ok], gain_b[ok], span[ok]
    point = (gain_a.sum() - gain_b.sum()) / span.sum()
    draws = rng.integers(0, len(span), (BOOT, len(span)))
    boot = (gain_a[draws].sum(axis=1) - gain_b[draws].sum(axis=1)) / span[draws].sum(axis=1)
    low, high = np.percentile(boot, [2.5, 97.5])
    return float(point), float(low), float(high)


def markdown(results: list[tuple[str, dict, dict]], args: argparse.Namespace) -> str:
    rng = np.random.default_rng(0)
    seeds = " ".join(map(str, args.seeds))
    lines = [
        "## The right few candidates: sets of k configurations (`bench/bench_portfolio.py`)",
        "",
        f"{machine_line()}. Command: `.venv/bin/python -m bench.bench_portfolio --seeds {seeds} "
        f"--folds {args.folds}{' --with-auto' if args.with_auto else ''}`. Outer "
        f"{args.folds}-fold cross-validation over datasets, fold seeds {seeds}; every set is "
        "built from the training datasets of its fold only and scored on the held-out ones. "
        "gap closed@k: share of the single-best-to-oracle gap closed by the best of the set's "
        "first k configurations (mean over fold seeds, ± their standard deviation). The "
        "differences are gap-closed points with a 95% bootstrap interval over datasets.",
        "",
    ]
    for name, result, info in results:
        methods = list(result["chosen"])
        lines += [f"### {name}: {info['datasets']} datasets x {info['configurations']} "
                  "configurations", "",
                  "| set | " + " | ".join(f"gap closed@{k}" for k in KS) + " |",
                  "|---|" + "---:|" * len(KS)]
        for method in methods:
            cells = []
            for j in range(len(KS)):
                g = gap_per_seed(result, method, j)
                cells.append(f"{np.nanmean(g):.3f} ± {np.nanstd(g):.3f}")
            lines.append(f"| {method} | " + " | ".join(cells) + " |")
        lines += ["", "| difference | " + " | ".join(f"k = {k}" for k in KS) + " |",
                  "|---|" + "---:|" * len(KS)]
        for a, b in (("conditioned, inner-validated", "static portfolio"),
                     ("static portfolio", "kNN warm start"),
                     *((("meta-learner top-k", "static portfolio"),
                        ("static, ordered by the meta-learner", "static portfolio"),
                        ("static, ordered by the meta-learner", "meta-learner top-k"))
                       if "meta-learner top-k" in methods else ())):
            cells = []
            for j in range(len(KS)):
                point, low, high = bootstrap_difference(result, a, b, j, rng)
                cells.append(f"{100 * point:+.1f} [{100 * low:+.1f}, {100 * high:+.1f}]")
            lines.append(f"| {a} − {b} | " + " | ".join(cells) + " |")
        lines += ["", f"Inner validation chose (option: outer folds) {info['inner choices']}. "
                  "Run time "
                  f"{info['seconds'] / 60:.1f} min.", ""]
    lines.append("A split-half oracle (each dataset's best chosen on half of its folds) cannot "
                 "be computed here: both run histories store one cross-validated value per "
                 "dataset and configuration, not the folds.")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--folds", type=int, default=10)
    parser.add_argument("--only", choices=["oboe", "openml100"], default=None)
    parser.add_argument("--with-auto", action="store_true",
                        help="also the meta-learner's diverse top-k (fits auto per fold: slow)")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    results = []
    sources = {"Oboe matrix (balanced error rate)": oboe,
               "OpenML100 cells (accuracy)": openml100_cells}
    for name, loader in sources.items():
        if args.only and not name.lower().startswith(args.only.lower()[:5]):
            continue
        mf, perf, _configs, maximize, _origin = loader()
        result, info = run(name, mf, perf, maximize, args.seeds, args.folds, args.with_auto)
        results.append((name, result, info))
    text = markdown(results, args)
    print(text)
    if not args.no_write:
        write_section("portfolio", text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
