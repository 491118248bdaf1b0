"""Top-1 imputer selection accuracy, leave-one-group-out over the imputation campaign.

Run: ``python -m bench.bench_imputation`` (after ``bench/imputation_campaign.py``). Writes the
"imputation" section of docs/benchmarks.md.

One selection problem is (dataset, estimator family): pick one imputer; it is a hit when its CV
score is within 0.01 of the best imputer's on that dataset and family. Datasets are held out in
groups that share their data (:func:`metarec.imputation.dataset_groups`): all injected variants of
one complete dataset, and classic tables published under two names (colic / colic.orig, PMLB's
cleveland / Weka's heart-c, ...), leave together, so no model sees a sibling of the dataset it is
scored on. In the same run and on the
same problems: the recommender (model chosen by inner grouped CV), each of its component models,
every constant choice ("always mean", ...), the auto-sklearn-style kNN baseline (the best imputer
of the nearest training dataset, L1 on scaled meta-features), and a random choice.
"""

from __future__ import annotations

import argparse
import json
import time
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from metarec.imputation import (
    MODELS,
    TOLERANCE,
    ImputerSelector,
    campaign_dir,
    campaign_tables,
    dataset_groups,
    gap_table,
    hit_table,
    probe_key,
    ranking_key,
    split_configuration,
)
from metarec.imputation.campaign import campaign_soft_labels
from metarec.imputation.selector import PROBE_BAND, family_columns
from metarec.metalearner.preprocess import mean_l1_distance


def problems(configurations: list[str]) -> dict[str, list[int]]:
    return {fam: [configurations.index(c) for c in cols]
            for fam, cols in family_columns(pd.Index(configurations)).items()}


def metalearner_keys(mf_train: pd.DataFrame, perf_train: pd.DataFrame, mf_test: pd.DataFrame,
                     fam_idx: dict[str, list[int]], configs: list[str]) -> np.ndarray | None:
    """Ranking key from the project's generic MetaLearner, fitted per family; None if absent."""
    try:
        from metarec.metalearner import MetaLearner
    except ImportError:
        return None
    key = np.full((len(mf_test), len(configs)), np.nan)
    for _fam, idx in fam_idx.items():
        block = perf_train.iloc[:, idx]
        learner = MetaLearner(model="auto", random_state=0).fit(mf_train, block, maximize=True)
        ranked = learner.rank(mf_test)
        for i, name in enumerate(mf_test.index):
            mine = ranked[ranked["dataset"] == name]
            for _, row in mine.iterrows():
                key[i, configs.index(str(row["configuration"]))] = -float(row["rank"])
    return key


def paired_noise_hits(kb_dir: Path, perf: pd.DataFrame,
                      fam_idx: dict[str, list[int]]) -> np.ndarray:
    """Secondary criterion: within 0.01 of the best *or* within one standard error of the paired
    fold-by-fold difference to it (the folds are shared, so the difference is what CV measures).
    """
    runs = pd.read_parquet(kb_dir / "runs.parquet")
    runs = runs.assign(config=runs["family"] + ":" + runs["imputer"])
    folds = {(d, c): np.array([np.nan if v is None else v for v in json.loads(f)], dtype=float)
             for d, c, f in zip(runs["dataset_id"], runs["config"], runs["fold_values"],
                                strict=True)}
    values = perf.to_numpy(dtype=float)
    out = np.full(values.shape, np.nan)
    configs = list(perf.columns)
    for i, dataset in enumerate(perf.index):
        for idx in fam_idx.values():
            row = values[i, idx]
            if np.isnan(row).all():
                continue
            best = configs[idx[int(np.nanargmax(row))]]
            for j in idx:
                if np.isnan(values[i, j]):
                    out[i, j] = 0.0
                    continue
                diff = folds[(dataset, best)] - folds[(dataset, configs[j])]
                se = float(np.std(diff, ddof=1) / np.sqrt(len(diff))) if len(diff) > 1 else 0.0
                out[i, j] = float(values[i, idx].max() - values[i, j] <= max(TOLERANCE, se))
    return out


def outer_fold(mf: pd.DataFrame, perf: pd.DataFrame, groups: pd.Series, train: np.ndarray,
               test: np.ndarray, fam_idx: dict[str, list[int]], with_metalearner: bool,
               labels: pd.DataFrame | None) -> tuple[str, dict[str, np.ndarray]]:
    """Fit on ``train`` only; return the inner choice and each method's keys on ``test``."""
    configs = [str(c) for c in perf.columns]
    sel = ImputerSelector(model="blend")
    sel.configurations_ = configs
    sel.labels_ = labels  # per-dataset labels; _fit_on uses only the training rows
    sel._fit_on(mf.iloc[train], perf.iloc[train], "blend")
    auto = ImputerSelector(model="auto")
    auto.configurations_ = configs
    auto.labels_ = labels
    picked = str(auto._inner_validation(mf.iloc[train], perf.iloc[train],
                                        groups.iloc[train].to_numpy()).index[0])
    keys: dict[str, np.ndarray] = {}
    for model in MODELS:
        sel.chosen_ = model
        prob, gap, _ = sel._estimate(mf.iloc[test])
        keys[model] = ranking_key(prob, gap)
    keys["recommender"] = keys[picked]
    if with_metalearner:
        key = metalearner_keys(mf.iloc[train], perf.iloc[train], mf.iloc[test], fam_idx, configs)
        if key is not None:
            keys["metalearner"] = key
    # auto-sklearn's warm start, for one pick: the best imputer of the nearest dataset
    dist = mean_l1_distance(sel.scaler_.impute(sel.scaler_.transform(mf.iloc[test])),
                            sel.features_)
    nearest = np.argmin(dist, axis=1)
    keys["knn_1nn"] = -np.nan_to_num(sel.gaps_[nearest], nan=np.inf)
    return picked, keys


PROBES_FILE = "probes.parquet"
RETEST_FILE = "retest.parquet"
OTHER_PROBES = "probes_seed*.parquet"
# Probe-based choices: the band within which the meta-feature model orders the probe's near-ties.
PROBE_METHODS = {"probe_recommender": PROBE_BAND, "probe_only": 0.0,
                 "probe_recommender_wide": TOLERANCE}


def probe_table(path: Path, perf: pd.DataFrame) -> np.ndarray | None:
    """datasets x configurations of probe scores (``bench/imputation_probes.py``), or None."""
    if not path.exists():
        return None
    probes = pd.read_parquet(path)
    wide = probes.assign(config=probes["family"] + ":" + probes["imputer"]).pivot_table(
        index="dataset_id", columns="config", values="value", aggfunc="first", dropna=False)
    return wide.reindex(index=perf.index, columns=perf.columns).to_numpy(dtype=float)


def retest_agreement(kb_dir: Path) -> float | None:
    """Hit rate of the imputer that wins a second 5-fold CV with other folds (no selector)."""
    _mf, perf, _groups = campaign_tables(kb_dir)
    values = probe_table(kb_dir / RETEST_FILE, perf)
    if values is None:
        return None
    hits = hit_table(perf, TOLERANCE).to_numpy()
    out = []
    for idx in problems([str(c) for c in perf.columns]).values():
        for i in range(len(perf)):
            if np.isnan(hits[i, idx]).all() or np.isnan(values[i, idx]).all():
                continue
            out.append(float(hits[i, idx][int(np.nanargmax(values[i, idx]))] == 1.0))
    return float(np.mean(out))


@lru_cache(maxsize=2)
def soft_labels(kb_dir: Path) -> pd.DataFrame:
    """The campaign's fold-bootstrap labels, computed once per run (evaluation and ceiling)."""
    _mf, perf, _groups = campaign_tables(kb_dir)
    return campaign_soft_labels(kb_dir, perf)


def evaluate(kb_dir: Path, n_folds: int | None, with_metalearner: bool = False,
             n_jobs: int = 1, soft: bool = True,
             probes_path: Path | None = None) -> tuple[pd.DataFrame, str, dict]:
    from joblib import Parallel, delayed
    from sklearn.model_selection import GroupKFold, LeaveOneGroupOut

    mf, perf, groups = campaign_tables(kb_dir)
    configs = [str(c) for c in perf.columns]
    hits = hit_table(perf, TOLERANCE).to_numpy()
    gaps = gap_table(perf).to_numpy()
    fam_idx = problems(configs)
    imputers = sorted({split_configuration(c)[1] for c in configs})
    splitter = LeaveOneGroupOut() if n_folds is None else GroupKFold(n_splits=n_folds)
    choices: dict[str, np.ndarray] = {}  # method -> datasets x configurations ranking key
    n = len(perf)

    def put(method: str, rows: np.ndarray, key: np.ndarray) -> None:
        choices.setdefault(method, np.full((n, len(configs)), np.nan))[rows] = key

    labels = soft_labels(kb_dir) if soft else None
    folds = list(splitter.split(mf, groups=groups))
    results = Parallel(n_jobs=n_jobs)(
        delayed(outer_fold)(mf, perf, groups, train, test, fam_idx, with_metalearner, labels)
        for train, test in folds
    )
    inner_choice: list[str] = []
    for (_train, test), (picked, keys) in zip(folds, results, strict=True):
        inner_choice += [picked] * len(test)
        for method, key in keys.items():
            put(method, test, key)
    def put_probe(method: str, probes: np.ndarray, band: float) -> None:
        key = np.full((n, len(configs)), np.nan)
        for idx in fam_idx.values():
            for i in range(n):
                key[i, idx] = probe_key(choices["recommender"][i, idx], probes[i, idx], band)
        put(method, np.arange(n), key)

    probes = probe_table(probes_path or kb_dir / PROBES_FILE, perf)
    if probes is not None:
        for method, band in PROBE_METHODS.items():
            put_probe(method, probes, band)
    # the same choice with probes measured on other fold seeds: how much the figure owes to one
    for path in sorted(kb_dir.glob(OTHER_PROBES)):
        other = probe_table(path, perf)
        if other is not None:
            first = int(pd.read_parquet(path, columns=["seed"])["seed"].iloc[0])
            put_probe(f"probe_recommender_seed{first}", other, PROBE_BAND)
    for imp in imputers:
        put(f"always_{imp}", np.arange(n),
            np.tile([1.0 if split_configuration(c)[1] == imp else 0.0 for c in configs], (n, 1)))

    noise_hits = paired_noise_hits(kb_dir, perf, fam_idx)
    records = []
    for method, key in choices.items():
        for fam, idx in fam_idx.items():
            for i in range(n):
                truth = hits[i, idx]
                if np.isnan(truth).all():
                    continue
                k = key[i, idx]
                if method.startswith("always_") and k.max() <= 0:
                    continue  # this constant choice does not exist for this family
                j = int(np.argmax(k))
                records.append((method, perf.index[i], fam, float(truth[j] == 1.0),
                                float(gaps[i, idx][j]) if np.isfinite(gaps[i, idx][j]) else 1.0,
                                float(noise_hits[i, idx[j]])))
    table = pd.DataFrame(records, columns=["method", "dataset_id", "family", "hit", "gap",
                                           "hit_noise"])
    random_rows = []
    for fam, idx in fam_idx.items():
        for i in range(n):
            truth = hits[i, idx]
            if not np.isnan(truth).all():
                g = np.nan_to_num(gaps[i, idx], nan=1.0)
                random_rows.append(("random", perf.index[i], fam, float(np.nanmean(truth)),
                                    float(g.mean()), float(np.nanmean(noise_hits[i, idx]))))
    table = pd.concat([table, pd.DataFrame(random_rows, columns=table.columns)])
    picked = pd.Series(inner_choice).value_counts().to_dict()
    return table, "leave-one-group-out" if n_folds is None else f"{n_folds}-fold grouped", picked


def resampling_ceiling(kb_dir: Path) -> float:
    """Mean over problems of the largest fold-bootstrap hit probability: how often the imputer
    that is most often within tolerance *on this very dataset* would be a hit on a fresh resample
    of its CV folds. A selector that knew each dataset's own fold results could expect that much;
    an optimistic ceiling (the maximum over imputers of estimated probabilities is biased up)
    on what meta-features can buy, and a measure of how much the CV noise alone caps."""
    _mf, perf, _groups = campaign_tables(kb_dir)
    soft = soft_labels(kb_dir).to_numpy(dtype=float)
    best = [np.nanmax(soft[i, idx]) for idx in problems([str(c) for c in perf.columns]).values()
            for i in range(len(perf)) if not np.isnan(soft[i, idx]).all()]
    return float(np.mean(best))


LABELS = {
    "recommender": "**recommender** (model chosen by inner grouped CV)",
    "knn": "component: kNN hit rate (k=7, distance-weighted)",
    "gbm": "component: LightGBM P(within 0.01), 3 seeds",
    "blend": "component: mean of kNN and LightGBM",
    "single_best": "single best imputer per family (learned on training folds)",
    "metalearner": "generic MetaLearner (metarec.metalearner, auto; per family)",
    "knn_1nn": "kNN baseline: best imputer of nearest dataset (auto-sklearn style)",
    "random": "random imputer (expected)",
    "probe_recommender": f"**recommender + probe** (probe's near-ties within {PROBE_BAND:g} "
                         "ordered by the recommender; `--probe-imputers`)",
    "probe_only": "probe alone (highest probe score)",
    "probe_recommender_wide": f"recommender + probe, near-ties within {TOLERANCE:g}",
}


def markdown(table: pd.DataFrame, scheme: str, picked: dict, kb_dir: Path,
             seconds: float, ceiling: float | None = None, retest: float | None = None,
             probes_path: Path | None = None) -> str:
    datasets = pd.read_parquet(kb_dir / "datasets.parquet")
    done = datasets[datasets["skipped"].fillna("") == ""].set_index("dataset_id")
    table = table.join(done[["kind", "mechanism"]], on="dataset_id")
    overall = table.groupby("method").agg(accuracy=("hit", "mean"), problems=("hit", "size"),
                                          mean_gap=("gap", "mean"), noise=("hit_noise", "mean"))
    by_kind = table.pivot_table(index="method", columns="kind", values="hit", aggfunc="mean")
    by_family = table.pivot_table(index="method", columns="family", values="hit", aggfunc="mean")
    by_mech = table.pivot_table(index="method", columns="mechanism", values="hit", aggfunc="mean")
    order = ["probe_recommender", "probe_only", "probe_recommender_wide",
             "recommender", "knn", "gbm", "blend", "metalearner", "knn_1nn", "single_best"]
    order += sorted(m for m in overall.index if m.startswith("always_")) + ["random"]
    order = [m for m in order if m in overall.index]
    groups_count = int(dataset_groups(done.reset_index()).nunique())
    n_natural = int((done["kind"] == "natural").sum())
    n_injected = int((done["kind"] == "injected").sum())
    lines = [
        "## Imputer selection (`bench/bench_imputation.py`)",
        "",
        f"Campaign: {len(done)} datasets ({n_natural} with natural missing values, {n_injected} "
        f"injected variants of {done.loc[done['kind'] == 'injected', 'origin'].nunique()} complete "
        f"datasets), {groups_count} groups of datasets sharing their data; "
        f"{int(table[table['method'] == 'recommender'].shape[0])} selection problems "
        "(dataset x estimator family: linear, random forest, LightGBM). "
        f"Evaluation: {scheme} (injected variants of a dataset, and tables sharing their data, "
        "held out together). A choice is a "
        f"hit when its CV score is within {TOLERANCE} of the best imputer's (balanced accuracy "
        "or R2). `gap` = mean CV-score shortfall of the chosen imputer to the best one. "
        "`within noise` (secondary): within 0.01 or within one standard error of the paired "
        "fold-by-fold difference to the best imputer. Columns after it: top-1 accuracy per "
        "subset.",
        "",
        "| method | top-1 accuracy | mean gap | within noise | natural | injected | linear | "
        "random forest | LightGBM | MCAR | MAR | MNAR |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]

    def cell(frame: pd.DataFrame, method: str, col: str) -> str:
        if col not in frame.columns or method not in frame.index or pd.isna(frame.loc[method, col]):
            return "–"
        return f"{100 * frame.loc[method, col]:.1f}%"

    for m in order:
        label = LABELS.get(m, m.replace("always_", "always "))
        lines.append(
            f"| {label} | {100 * overall.loc[m, 'accuracy']:.1f}% | "
            f"{overall.loc[m, 'mean_gap']:.4f} | {100 * overall.loc[m, 'noise']:.1f}% | "
            f"{cell(by_kind, m, 'natural')} | "
            f"{cell(by_kind, m, 'injected')} | {cell(by_family, m, 'linear')} | "
            f"{cell(by_family, m, 'random_forest')} | {cell(by_family, m, 'lightgbm')} | "
            f"{cell(by_mech, m, 'mcar')} | {cell(by_mech, m, 'mar')} | {cell(by_mech, m, 'mnar')} |"
        )
    constants = overall[overall.index.str.startswith("always_")]["accuracy"]
    best_const = constants.idxmax()
    rec = overall.loc["recommender", "accuracy"]
    n_problems = overall.loc["recommender", "problems"]
    se = float(np.sqrt(rec * (1 - rec) / n_problems))
    above = rec > constants.max()

    def pct(method: str) -> str:
        return f"{100 * overall.loc[method, 'accuracy']:.1f}%" if method in overall.index else "–"

    lines += [
        "",
        f"From meta-features alone: recommender {100 * rec:.1f}% (standard error "
        f"{100 * se:.1f} points over "
        f"{n_problems} problems) vs best fixed imputer ({best_const.replace('_', ' ')}) "
        f"{100 * constants.max():.1f}%, single best imputer per family {pct('single_best')}, "
        f"kNN baseline {pct('knn_1nn')}, random {pct('random')}. Target >= 75%: "
        f"{'met' if rec >= 0.75 else 'not met'}; above every fixed imputer: "
        f"{'yes' if above else 'no'}. "
        "`always native` exists only for LightGBM, so its accuracy is over LightGBM problems only. "
        f"Models picked by the inner validation (per held-out dataset): {picked}. "
        f"Run time {seconds:.0f} s.",
    ]
    if "probe_recommender" in overall.index:
        probes = pd.read_parquet(probes_path or kb_dir / PROBES_FILE)
        per_problem = probes.groupby(["dataset_id", "family"])["seconds"].first()
        with_probe = overall.loc["probe_recommender", "accuracy"]
        seed = int(probes["seed"].iloc[0])
        repeats = int(probes["n_repeats"].iloc[0]) if "n_repeats" in probes else 1
        se_probe = float(np.sqrt(with_probe * (1 - with_probe) / n_problems))
        lines += [
            "",
            f"With the probe (`metarec recommend --probe-imputers`): every imputer is "
            f"cross-validated on the dataset itself with the family's estimator "
            f"({int(probes['n_folds'].iloc[0])}-fold CV x {repeats}, fold seeds "
            f"{', '.join(str(seed + r) for r in range(repeats))}, independent of the campaign's "
            "fold seed 0; table from `bench/imputation_probes.py`)"
            f"; {100 * with_probe:.1f}% (standard error {100 * se_probe:.1f} points) vs "
            f"{100 * rec:.1f}% from meta-features alone. Target >= 75%: "
            f"{'met' if with_probe >= 0.75 else 'not met'} with the probe. Probe cost per "
            f"problem (one family; wall time, two probes running side by side on the 2-core "
            f"machine): median "
            f"{per_problem.median():.2f} s, 90th percentile {per_problem.quantile(0.9):.2f} s, "
            f"max {per_problem.max():.2f} s.",
        ]
        others = [m for m in overall.index if m.startswith("probe_recommender_seed")]
        if others:
            lines[-1] += (
                " The same choice with probes on other fold seeds: "
                + ", ".join(f"from seed {m.removeprefix('probe_recommender_seed')} "
                            f"{100 * overall.loc[m, 'accuracy']:.1f}%" for m in others)
                + f" (from seed {seed}: {100 * with_probe:.1f}%)."
            )
    if retest is not None:
        lines += [
            "",
            f"Test-retest of the labels: rerunning the campaign's own protocol (5-fold CV, same "
            f"rows, same models) with only the fold assignment changed, the imputer that wins "
            f"the rerun is a hit {100 * retest:.1f}% of the time (`retest.parquet`, "
            "`bench/imputation_probes.py --folds 5 --repeats 1`). That is how reproducible the "
            "labels themselves are: a second measurement agrees with the first about as often as "
            "the target asks for, and the probe (a cheaper second measurement, with the "
            "meta-feature model ordering its near-ties) is at that level.",
        ]
    if ceiling is not None:
        lines += [
            "",
            f"How much does CV noise alone cap this? Choosing, for each problem, the imputer most "
            f"often within {TOLERANCE} of the best when that dataset's own 5 folds are resampled "
            f"(200 bootstraps) would be a hit on a fresh resample {100 * ceiling:.1f}% of the "
            "time (`resampling_ceiling`). That bootstrap reuses the very folds the labels came "
            "from, so it overstates reproducibility; the test-retest figure above, with new "
            "folds, is the realistic one.",
        ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--kb", type=Path, default=campaign_dir())
    parser.add_argument("--folds", type=int, default=0,
                        help="grouped K-fold instead of leave-one-group-out (0: leave-one-out)")
    parser.add_argument("--no-write", action="store_true", help="print only")
    parser.add_argument("--n-jobs", type=int, default=2, help="outer folds in parallel")
    parser.add_argument("--hard-labels", action="store_true",
                        help="train on the hard within-0.01 labels instead of fold-bootstrap ones")
    parser.add_argument("--probes", type=Path, default=None,
                        help="probe table (default: probes.parquet in --kb)")
    parser.add_argument("--metalearner", action="store_true",
                        help="also score the generic MetaLearner (slower)")
    args = parser.parse_args(argv)
    started = time.time()
    table, scheme, picked = evaluate(args.kb, args.folds or None, args.metalearner, args.n_jobs,
                                     not args.hard_labels, args.probes)
    seconds = time.time() - started
    text = markdown(table, scheme, picked, args.kb, seconds, resampling_ceiling(args.kb),
                    retest_agreement(args.kb), args.probes)
    print(text)
    if not args.no_write:
        from bench.report import write_section

        write_section("imputation", text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
