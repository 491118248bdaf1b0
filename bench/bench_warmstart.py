"""Warm start vs cold start: Optuna TPE alone vs TPE seeded with metarec's recommendations.

Same search space, same budget (``--trials``, 50 by default), same cross-validation folds and
model seeds for both arms; ``--seeds`` sampler seeds per dataset (5 by default). The warm arm is
``metarec tune``'s: the recommended set, then the top recommendations
(``metarec.tuning.warm_start_params``), then TPE. Per dataset, the normalised regret of an arm
after t trials is (best score any arm or seed found - the arm's best so far) / (that best - the
LightGBM-default score, measured on the same folds); the report gives its mean over trials
1-25 and seeds, the paired difference cold - warm with a bootstrap 95% CI over datasets, the
win rate at trial 25, and the speed-up read off the mean regret curves (the trial at which warm
reaches cold's regret at trials 25 and 50). Datasets: ``bench.datasets.warmstart_datasets``,
held out of the knowledge base the warm arm uses (``bench/holdout.py``: every KB dataset that
matches one by OpenML id, name or shape removed), so the recommender never saw them; large ones
are subsampled (seeded, stratified; recorded).

    python -m bench.holdout --datasets 20
    OMP_NUM_THREADS=1 nice python -m bench.bench_warmstart [--datasets 20] [--seeds 5]

Each dataset's results (per seed and arm) are appended to ``bench/results/warmstart.jsonl``
whenever they grow, which is committed, so an interrupted run resumes on any machine and two
workers (``--reverse`` for the second, which takes datasets and seeds from the other end) share
it, each picking up what the other has recorded before every seed; a missing arm is run alone
(the cold arm does not depend on the knowledge base: ``--keep-warm-as NAME`` keeps the earlier
warm results under NAME and reruns only the warm arm, e.g. after the knowledge base changed).
The section ``warmstart`` of ``docs/benchmarks.md`` is rewritten at the end.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")  # one thread per fit: fair and no oversubscription

import argparse  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from bench import results as record  # noqa: E402
from bench.datasets import ROOT, fingerprint, load  # noqa: E402
from bench.holdout import HOLDOUT_KB, warmstart_benchmark  # noqa: E402

EARLY = 25  # regret is averaged over trials 1..EARLY; the win rate is read at trial EARLY
# A dataset where the best score found is within this of the LightGBM default's would divide
# by almost nothing: its regret is normalised by this gap instead (the report counts them).
MIN_GAP = 0.01


# -- one arm ---------------------------------------------------------------------------------
def run_arm(X: pd.DataFrame, y: pd.Series, found: Any, seed: int, trials: int,
            cv: int, space: Any, cache: dict[str, float | None],
            k: int = 10, search_space: str = "full",
            extra_random: int = 0) -> list[float | None]:
    """Per-trial CV scores (None: failed) of one TPE study. Cold (``found`` None): Optuna's
    standard multivariate TPE over the full space. Warm: up to ``k`` configurations of
    ``found`` (a ``metarec.recommend.Recommended``: its set, then its recommendations) are
    enqueued and ``warmstart.warm_sampler`` starts modelling once they are done, exactly as
    ``metarec tune`` does; with ``search_space="recommended"`` only the
    recommendations' algorithms are searched (``warmstart.recommended_space``); with
    ``extra_random`` the warm arm samples that many random trials after the warm ones before TPE
    models (an experiment; ``metarec tune`` has none)."""
    import optuna

    from metarec import tuning as warmstart
    from metarec.crossval import check_cv
    from metarec.jsonable import to_jsonable

    recs = found.recommendations if found is not None else []
    if recs and search_space == "recommended":
        space = warmstart.recommended_space(space, recs)
    y_arr = np.asarray(y)
    splitter = check_cv(cv, y_arr, "classification", 0)
    objective = warmstart.make_objective(X, y_arr, space, splitter, "balanced_accuracy", None, 0)

    def cached(trial: Any) -> float:
        space.suggest(trial)  # fixes the trial's parameters before the cache is consulted
        key = json.dumps(to_jsonable(trial.params), sort_keys=True)
        if key not in cache:
            try:
                cache[key] = objective(trial)
            except Exception:
                cache[key] = None
        if cache[key] is None:
            raise RuntimeError("trial failed")
        return float(cache[key])  # type: ignore[arg-type]

    weight = warmstart.class_weight_for(y_arr, "classification", "balanced_accuracy")
    warm = warmstart.warm_start_params(recs, k, space, n_samples=len(X), n_features=X.shape[1],
                                       class_weight=weight,
                                       candidate_set=found.candidate_set) if recs else []
    with warmstart.quiet_optuna(50):
        study, _ = warmstart.create_study(None, None, seed, "classification",
                                          "balanced_accuracy",
                                          n_warm=len(warm) + (extra_random if warm else 0))
        warmstart.enqueue_warm_trials(study, warm)
        study.optimize(cached, n_trials=trials, catch=(Exception,))
    done = optuna.trial.TrialState.COMPLETE
    return [t.value if t.state == done else None for t in study.trials]


def recommended(X: pd.DataFrame, y: pd.Series, kb: Any, top_k: int, model: str,
                set_size: int) -> Any:
    """The warm arm's recommendations: ``metarec tune``'s (model "auto"), or those of another
    MetaLearner model fitted on the same evidence."""
    from metarec import recommend as recommending

    if model == "auto":
        return recommending.recommendations_for(X, y, "classification", kb=kb, top_k=top_k,
                                                set_size=set_size)
    from metarec.io import Dataset
    from metarec.kb.queries import learner_groups, learner_inputs
    from metarec.metalearner import MetaLearner
    from metarec.recommend import recommend
    from metarec.recommend.learner_cache import cached_evidence

    evidence = cached_evidence(kb, "classification")
    mf, perf = learner_inputs(kb, evidence, learner_groups(evidence))
    # "portfolio": the shipped learner's settings plus a greedy portfolio ranked first
    settings = ({"model": "auto", "portfolio": "auto", "random_state": 0}
                if model == "portfolio" else {"model": model})
    learner = MetaLearner(**settings).fit(mf, perf, maximize=evidence.higher_is_better)
    dataset = Dataset(X=X, y=pd.Series(np.asarray(y), index=X.index, name="target"),
                      target="target", task="classification", source="data")
    report = recommend(dataset, kb, top_k=top_k, learner=learner, set_size=set_size)
    return recommending.Recommended(report.recommendations, f"meta-learner ({model})",
                                    report.metafeatures, report.candidate_set)


def lightgbm_default_score(X: pd.DataFrame, y: pd.Series, cv: int) -> float | None:
    """LightGBM's defaults on the arms' folds (the same splitter and model seed): the regret's
    reference point."""
    from metarec.crossval import check_cv
    from metarec.pipelines import normalize_spec
    from metarec.tuning.objective import cross_validated

    y_arr = np.asarray(y)
    spec = normalize_spec({"task": "classification", "algorithm": "lightgbm",
                           "hyperparameters": {}})
    try:
        return float(cross_validated(spec, X, y_arr, check_cv(cv, y_arr, "classification", 0),
                                     "balanced_accuracy", None, 0, np.unique(y_arr),
                                     False).value)
    except Exception as exc:  # recorded; the report then normalises by the range found
        print(f"  LightGBM defaults failed: {type(exc).__name__}: {exc}"[:200], flush=True)
        return None


def running_best(values: list[float | None]) -> list[float]:
    best, out = -np.inf, []
    for v in values:
        if v is not None:
            best = max(best, v)
        out.append(best)
    return out


ARMS = ("cold", "warm")


def incumbents(values: list[float | None], trials: int, before_any: float) -> np.ndarray:
    """The best score after each of ``trials`` trials; ``before_any`` until a trial completes
    (the worst score found on the dataset), the last value carried on if the run was shorter."""
    best = np.array(running_best(values)[:trials], dtype=float)
    best[~np.isfinite(best)] = before_any
    return np.pad(best, (0, trials - len(best)), mode="edge")


def regrets(entry: dict[str, Any], trials: int) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Normalised regret per arm as (seeds x trials) arrays, and the dataset's reference points:
    best found by any arm or seed, the LightGBM-default score and the gap that normalises."""
    seeds = sorted(entry["seeds"], key=int)
    scores = [v for seed in seeds for arm in ARMS for v in entry["seeds"][seed][arm]
              if v is not None]
    best, worst = max(scores), min(scores)
    reference = entry.get("lightgbm_default")
    gap = best - (reference if reference is not None else worst)
    floored = gap < MIN_GAP
    gap = max(gap, MIN_GAP)
    best_of = {arm: np.array([incumbents(entry["seeds"][seed][arm], trials, worst)
                              for seed in seeds]) for arm in ARMS}
    curves = {arm: (best - best_of[arm]) / gap for arm in ARMS}
    return curves, {"best": best, "reference": reference, "floored": floored,
                    "best_of": best_of, "seeds": len(seeds)}


def trial_reaching(curve: np.ndarray, level: float) -> int | None:
    """The first trial (1-based) at which a mean regret curve is at or below ``level``."""
    hits = np.flatnonzero(curve <= level + 1e-12)
    return int(hits[0]) + 1 if len(hits) else None


# -- reporting -------------------------------------------------------------------------------
def summarise(results: dict[str, Any], trials: int) -> tuple[str, dict[str, Any]]:
    from bench.bench_headtohead import bootstrap_ci, bootstrap_means

    rows, early, mean_curves = [], {arm: [] for arm in ARMS}, {arm: [] for arm in ARMS}
    wins = ties = losses = floored = 0
    clipped: dict[str, list[float]] = {arm: [] for arm in ARMS}
    final = {arm: [] for arm in ARMS}
    at_early = {arm: [] for arm in ARMS}
    for name, entry in results["datasets"].items():
        curves, ref = regrets(entry, trials)
        floored += ref["floored"]
        for arm in ARMS:
            early[arm].append(float(curves[arm][:, :EARLY].mean()))
            clipped[arm].append(float(np.clip(curves[arm][:, :EARLY], 0, 1).mean()))
            mean_curves[arm].append(curves[arm].mean(axis=0))
            final[arm].append(float(ref["best_of"][arm][:, -1].mean()))
            at_early[arm].append(float(ref["best_of"][arm][:, EARLY - 1].mean()))
        cold_25 = ref["best_of"]["cold"][:, EARLY - 1]
        warm_25 = ref["best_of"]["warm"][:, EARLY - 1]
        wins += int((warm_25 > cold_25 + 1e-12).sum())
        losses += int((warm_25 < cold_25 - 1e-12).sum())
        ties += int((np.abs(warm_25 - cold_25) <= 1e-12).sum())
        reference = "failed" if ref["reference"] is None else f"{ref['reference']:.4f}"
        rows.append(
            f"| {name} | {entry['rows']} | {ref['seeds']} | {reference} | {ref['best']:.4f} | "
            f"{early['cold'][-1]:.3f} | {early['warm'][-1]:.3f} | "
            f"{at_early['cold'][-1]:.4f} | {at_early['warm'][-1]:.4f} |")
    diff = np.array(early["cold"]) - np.array(early["warm"])
    low, high = bootstrap_ci(diff)
    boot = bootstrap_means(diff)  # the resamples behind bootstrap_ci's interval
    clipped_diff = np.array(clipped["cold"]) - np.array(clipped["warm"])
    curve = {arm: np.mean(mean_curves[arm], axis=0) for arm in ARMS}
    speedups = {}
    for at in (EARLY, trials):
        reached = trial_reaching(curve["warm"], float(curve["cold"][at - 1]))
        speedups[at] = (reached, at / reached if reached else None)
    figures = {
        "datasets": len(diff), "pairs": wins + ties + losses,
        "early_cold": float(np.mean(early["cold"])), "early_warm": float(np.mean(early["warm"])),
        "diff": float(diff.mean()), "low": low, "high": high,
        "p_warm_better": float((boot > 0).mean()),
        "clipped": (float(clipped_diff.mean()), *bootstrap_ci(clipped_diff)),
        "datasets_warm_better": int((diff > 0).sum()),
        "datasets_cold_better": int((diff < 0).sum()),
        "wins": wins, "ties": ties, "losses": losses,
        "win_rate": (wins + ties / 2) / max(wins + ties + losses, 1),
        "speedups": speedups, "curve": curve, "floored": floored,
        "at_early": {arm: float(np.mean(at_early[arm])) for arm in ARMS},
        "final": {arm: float(np.mean(final[arm])) for arm in ARMS},
    }
    table = "\n".join([
        "| dataset | rows used | seeds | LightGBM defaults | best found | mean regret 1-25, "
        "cold | warm | best after 25, cold | warm |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
        *rows,
    ])
    return table, figures


def _learner_commit() -> str:
    """The last commit of the meta-learner and its fitted models (what the warm arm used)."""
    import subprocess

    try:
        out = subprocess.run(["git", "log", "-1", "--format=%h", "--", "knowledge_base/models",
                              "metarec/metalearner"], cwd=ROOT, capture_output=True, text=True,
                             check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        out = ""
    return out or "unknown"


def _speedup_text(at: int, reached: int | None, ratio: float | None, trials: int) -> str:
    if reached is None:
        return f"not reached in {trials} trials (below 1x)"
    return f"trial {reached}: **{ratio:.2f}x**"


def write_report(results: dict[str, Any], args: argparse.Namespace) -> str:
    from bench.report import machine_line, write_section

    table, f = summarise(results, args.trials)
    wall_s = sum(seed.get("seconds", 0.0) for entry in results["datasets"].values()
                 for seed in entry["seeds"].values())
    n_sets = len(results["datasets"])
    status = ""
    wanted = min(args.datasets, getattr(args, "available", args.datasets))
    if wanted < args.datasets:
        status = (f"\nOnly {wanted} classification datasets could be read; all of them were "
                  f"used, not {args.datasets}.\n")
    if n_sets < wanted or f["pairs"] < wanted * args.seeds:
        status = (
            f"\n**Partial run:** {n_sets} of {wanted} datasets and {f['pairs']} of "
            f"{wanted * args.seeds} dataset-seed pairs finished before the run was stopped "
            f"({args.partial_reason}). Rerun the command below to complete it: it resumes from "
            f"`{args.cache.relative_to(ROOT) if args.cache.is_relative_to(ROOT) else args.cache}`."
            "\n")
    (r25, x25), (r50, x50) = f["speedups"][EARLY], f["speedups"][args.trials]
    met = {
        "p": f["p_warm_better"] >= 0.95, "win": f["win_rate"] >= 0.65,
        "speed": x25 is not None and x25 >= 2,
    }
    figures = "\n".join(f"| {label} | {value} |" for label, value in [
        (f"mean normalised regret over trials 1-{EARLY}: cold / warm ({f['datasets']} datasets)",
         f"{f['early_cold']:.3f} / {f['early_warm']:.3f}"),
        ("paired difference cold - warm (positive: warm better), bootstrap 95% CI over datasets",
         f"**{f['diff']:+.3f}** [{f['low']:+.3f}, {f['high']:+.3f}]"),
        ("bootstrap P(warm better)", f"**{f['p_warm_better']:.3f}**"),
        ("the same difference with each regret clipped to [0, 1] (an incumbent worse than "
         "LightGBM's defaults counts as 1)", "{:+.3f} [{:+.3f}, {:+.3f}]".format(*f["clipped"])),
        ("datasets where warm / cold had the lower mean regret",
         f"{f['datasets_warm_better']} / {f['datasets_cold_better']}"),
        (f"win rate at trial {EARLY} (dataset-seed pairs, a tie counts half; W/T/L)",
         f"**{f['win_rate']:.2f}** ({f['wins']}/{f['ties']}/{f['losses']})"),
        (f"speed-up: trial at which warm's mean regret reaches cold's at trial {EARLY} "
         f"({f['curve']['cold'][EARLY - 1]:.3f})", _speedup_text(EARLY, r25, x25, args.trials)),
        (f"speed-up: the same at cold's trial {args.trials} "
         f"({f['curve']['cold'][args.trials - 1]:.3f})",
         _speedup_text(args.trials, r50, x50, args.trials)),
        (f"mean best balanced accuracy after {EARLY} trials: cold / warm",
         f"{f['at_early']['cold']:.4f} / {f['at_early']['warm']:.4f}"),
        (f"mean best balanced accuracy after {args.trials} trials: cold / warm",
         f"{f['final']['cold']:.4f} / {f['final']['warm']:.4f}"),
    ])
    marks = [1, 5, 10, 15, 20, 25, 30, 40, 50]
    marks = [m for m in marks if m <= args.trials]
    curve_rows = "\n".join(
        f"| {arm} | " + " | ".join(f"{f['curve'][arm][m - 1]:.3f}" for m in marks) + " |"
        for arm in ARMS)
    curve_table = ("| mean normalised regret after trial | " + " | ".join(map(str, marks))
                   + " |\n|---|" + "---:|" * len(marks) + "\n" + curve_rows)
    space_note = ("; searching only the algorithms those recommendations name, "
                  "`--search-space recommended`" if args.search_space == "recommended"
                  else "; over the full space")
    experiment = "".join(f" {flag} {value}" for flag, value, default in (
        ("--warm-model", args.warm_model, "auto"), ("--extra-random", args.extra_random, 0))
        if value != default)
    verdict = ", ".join(f"{name} {'met' if ok else 'not met'}" for name, ok in (
        ("P >= 0.95", met["p"]), ("win rate >= 0.65", met["win"]),
        (f"speed-up >= 2x at the cold@{EARLY} level", met["speed"])))
    md = f"""## Warm start vs cold start (`bench/bench_warmstart.py`)

Optuna TPE over metarec's search space, cold (Optuna's standard multivariate TPE, 10 random
start-up trials) vs warm-started the way `metarec tune` does it (`metarec.tuning.warm_start`: up to
{args.k} configurations, the recommended set first (the knowledge base's greedy portfolio of
{args.k}, ordered by the meta-learner), then, where the set is shorter, the top recommendations;
forests with at least 100 trees, class weighting "balanced" on imbalanced data; then TPE models
from the warm trials at once{space_note}), meta-learner of commit {_learner_commit()}, on
{n_sets} classification datasets held out of the knowledge base the warm arm uses
(`bench/holdout.py`: every KB dataset matching one by OpenML id, name or shape removed).
Same budget ({args.trials} trials), same {args.cv}-fold stratified CV (balanced
accuracy), same model seeds; sampler seeds {", ".join(map(str, range(args.seeds)))}. Rows: a
seeded stratified subsample when larger than {args.max_rows}.

Normalised regret after t trials = (best score any arm or seed found on the dataset - the arm's
best after t trials) / (that best - LightGBM's default score on the same folds); where that gap
is under {MIN_GAP} it is taken as {MIN_GAP} ({f["floored"]} of {n_sets} datasets). 0 is the best
anyone found; 1 is no better than LightGBM's defaults.

| figure | value |
|---|---:|
{figures}

Targets (warm better with bootstrap P >= 0.95, win rate >= 0.65, speed-up >= 2x): {verdict}.
{status}
{curve_table}

{table}

Machine: {machine_line()}; {wall_s / 60:.0f} min summed over the dataset-seed pairs (identical
trials are evaluated once and shared between arms and seeds, since the CV folds and model seeds
are fixed).{" " + args.run_note if args.run_note else ""}
Reproduce: `OMP_NUM_THREADS=1 nice python -m bench.bench_warmstart --datasets {args.datasets}
--seeds {args.seeds} --trials {args.trials} --cv {args.cv} --max-rows {args.max_rows} --k {args.k}
--search-space {args.search_space}{experiment}`.
"""
    if not args.no_write:
        write_section("warmstart", md)
    return md


def merge_recorded(entry: dict[str, Any], cache_file: Path, name: str) -> None:
    """Add to ``entry`` the arms another worker has recorded for ``name`` since this one read
    the record (on the same rows), so that neither runs them again nor overwrites them."""
    recorded = record.read(cache_file).get(name)
    if recorded is None or recorded.get("data") != entry.get("data"):
        return
    for seed, arms in recorded.get("seeds", {}).items():
        mine = entry["seeds"].setdefault(seed, {})
        for arm, value in arms.items():
            mine.setdefault(arm, value)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--datasets", type=int, default=20)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--trials", type=int, default=50)
    parser.add_argument("--cv", type=int, default=3)
    parser.add_argument("--max-rows", type=int, default=500)
    parser.add_argument("--k", type=int, default=10,
                        help="Recommendations enqueued by the warm arm (chosen from the top 3k).")
    parser.add_argument("--search-space", choices=("recommended", "full"), default="full",
                        help="What the warm arm searches after its enqueued trials (as `metarec "
                        "tune --search-space`); the cold arm always searches the full space.")
    parser.add_argument("--report-only", action="store_true")
    parser.add_argument("--run-note", default="",
                        help="A sentence on how the run was made, added to the report.")
    parser.add_argument("--partial-reason", default="a shared 2-core machine under heavy load; "
                        "the benchmark ran niced", help="Why a partial run stopped (report).")
    parser.add_argument("--cache", type=Path, default=record.RESULTS / "warmstart.jsonl",
                        help="The record of per-run results, reused when the run is resumed.")
    parser.add_argument("--no-write", action="store_true", help="Print, do not write the docs.")
    parser.add_argument("--warm-model", choices=("auto", "knn", "portfolio"), default="auto",
                        help="meta-learner behind the warm trials: the shipped one (auto), "
                        "auto-sklearn's warm start (best configurations of the nearest KB "
                        "datasets, MetaLearner(model='knn')), or the shipped one with a greedy "
                        "portfolio ranked first (MetaLearner(portfolio='auto'))")
    parser.add_argument("--extra-random", type=int, default=0,
                        help="random trials after the warm ones before TPE models (experiment)")
    parser.add_argument("--reverse", action="store_true",
                        help="Work through the chosen datasets, and each one's seeds, from the "
                        "last one (a second worker, sharing the record).")
    parser.add_argument("--kb", type=Path, default=HOLDOUT_KB,
                        help="the held-out knowledge base (bench/holdout.py) the warm arm uses")
    parser.add_argument("--keep-warm-as", metavar="NAME",
                        help="keep earlier warm results under NAME; rerun only the warm arm")
    args = parser.parse_args()

    from metarec import recommend as recommending
    from metarec import tuning as warmstart
    from metarec.tuning.space import space_for

    cache_file = args.cache
    results = {"datasets": record.read(cache_file)}
    if not (args.kb / "HOLDOUT.json").exists():
        raise SystemExit(f"no held-out knowledge base at {args.kb}: run "
                         "`python -m bench.holdout --datasets 20` first")
    kb = recommending.load_kb(str(args.kb))
    if args.keep_warm_as:
        for entry in results["datasets"].values():
            for arms in entry["seeds"].values():
                if "warm" in arms and args.keep_warm_as not in arms:
                    arms[args.keep_warm_as] = arms.pop("warm")
        for name, entry in results["datasets"].items():
            record.append(cache_file, name, entry)
    chosen = warmstart_benchmark(args.datasets)  # each readable: checked there
    args.available = len(chosen)
    if not args.report_only:
        for candidate in reversed(chosen) if args.reverse else chosen:
            try:
                X, y, note = load(candidate, args.max_rows)
            except Exception as exc:  # unreadable or unusable: the next candidate
                print(f"skip {candidate.name}: {exc}", flush=True)
                continue
            found = recommended(X, y, kb, warmstart.POOL_PER_WARM_TRIAL * args.k,
                                args.warm_model, args.k)
            data = fingerprint(X, y)
            entry = results["datasets"].get(candidate.name)
            if entry is None or entry.get("data") != data:
                # new, or run on other rows (another sampling): every arm runs again
                entry = {"rows": note, "data": data, "source": found.source,
                         "seeds": {},
                         "recommended": [r["algorithm"] for r in found.recommendations]}
                results["datasets"][candidate.name] = entry
            space = space_for("classification", has_missing=bool(X.isna().to_numpy().any()),
                              kb=kb)
            if "lightgbm_default" not in entry:
                entry["lightgbm_default"] = lightgbm_default_score(X, y, args.cv)
                record.append(cache_file, candidate.name, entry)
            cache: dict[str, float | None] = {}
            seeds = range(args.seeds)
            for seed in reversed(seeds) if args.reverse else seeds:
                merge_recorded(entry, cache_file, candidate.name)
                arms = entry["seeds"].get(str(seed), {})
                if all(arm in arms for arm in ARMS):
                    continue
                t0 = time.time()
                cold = arms.get("cold") or run_arm(X, y, None, seed, args.trials, args.cv,
                                                   space, cache)
                warm = arms.get("warm") or run_arm(X, y, found, seed, args.trials, args.cv,
                                                   space, cache, k=args.k,
                                                   search_space=args.search_space,
                                                   extra_random=args.extra_random)
                entry["seeds"][str(seed)] = {**arms, "cold": cold, "warm": warm,
                                             "seconds": round(arms.get("seconds", 0.0)
                                                              + time.time() - t0, 1)}
                merge_recorded(entry, cache_file, candidate.name)
                record.append(cache_file, candidate.name, entry)
                print(f"{candidate.name} seed {seed}: cold {max(running_best(cold)):.4f} "
                      f"warm {max(running_best(warm)):.4f} ({time.time() - t0:.0f} s)",
                      flush=True)
    # Every finished (dataset, seed) pair is reported; the table says how many seeds each has.
    names = {c.name for c in chosen}
    complete = {}
    for name, entry in results["datasets"].items():
        seeds = {s: arms for s, arms in entry["seeds"].items()
                 if all(arm in arms for arm in ARMS)}
        if name in names and seeds:
            complete[name] = {**entry, "seeds": seeds}
    print(write_report({"datasets": complete}, args))


if __name__ == "__main__":
    main()
