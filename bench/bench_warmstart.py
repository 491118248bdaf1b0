"""Warm start vs cold start: Optuna TPE alone vs TPE seeded with metarec's recommendations.

Same search space, same budget (``--trials``, 50 by default), same cross-validation folds and
model seeds for both arms; three sampler seeds per dataset. For each (dataset, seed): the number of
trials each arm needs to come within 0.5% of the best score either arm found, and the best score
after 10 trials. Datasets are classification sets from ``../shared/data/datasets`` that are not in
the knowledge base (by OpenML id, by name, and by shape: a KB dataset with the same number of rows
(+-10%) and features (+-1) counts as the same), so the recommender never saw them; large ones are
subsampled (seeded, stratified; recorded in the table).

    OMP_NUM_THREADS=1 nice python -m bench.bench_warmstart [--datasets 10] [--seeds 3]

Results are cached per (dataset, arm, seed) in ``bench/out/warmstart.json`` so an interrupted run
resumes; the section ``warmstart`` of ``docs/benchmarks.md`` is rewritten at the end.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")  # one thread per fit: fair and no oversubscription

import argparse  # noqa: E402
import json  # noqa: E402
import re  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data" / "datasets"
OUT = ROOT / "bench" / "out"
TOLERANCE = 0.005  # "within 0.5% of the best score either arm found"
EARLY = 10  # the score after this many trials is reported


@dataclass
class Candidate:
    name: str
    path: Path
    target: str | None
    n_rows: int
    n_features: int


def _norm(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", str(text).lower())


class KBIndex:
    """Which datasets the knowledge base holds, to keep the benchmark's datasets out of it."""

    def __init__(self, kb: Any) -> None:
        ds = kb.datasets
        self.dids = set(ds["openml_did"].dropna().astype(int))
        self.names = {_norm(n) for n in ds["name"].dropna()}
        self.rows = ds["n_instances"].astype("float").to_numpy()
        self.features = ds["n_features"].astype("float").to_numpy()
        self.classes = ds["n_classes"].astype("float").to_numpy()

    def holds(self, name: str, n_rows: float, n_features: float, did: float | None,
              n_classes: float | None = None) -> bool:
        if did is not None and not np.isnan(did) and int(did) in self.dids:
            return True
        if _norm(re.sub(r"^\d+_", "", name)) in self.names or _norm(name) in self.names:
            return True
        same = (np.abs(self.rows - n_rows) <= 0.1 * n_rows) & (
            np.abs(self.features - n_features) <= 1)
        if n_classes is not None and not np.isnan(n_classes):
            same &= (self.classes == n_classes) | np.isnan(self.classes)
        return bool(same.any())


def candidates(kb: Any, min_rows: int = 100, max_features: int = 100,
               min_features: int = 3) -> list[Candidate]:
    """Held-out classification datasets: PMLB first, then liac-arff; duplicates by shape dropped."""
    index = KBIndex(kb)
    found: list[Candidate] = []
    seen_shapes: set[tuple[int, int]] = set()
    pmlb = pd.read_csv(DATA / "pmlb" / "INDEX.csv")
    pmlb = pmlb[pmlb["task"] == "classification"].sort_values("name")
    for row in pmlb.itertuples():
        if row.n_rows < min_rows or not min_features <= row.n_features <= max_features:
            continue
        if index.holds(row.name, row.n_rows, row.n_features, row.openml_did, row.n_classes):
            continue
        path = DATA / "pmlb" / "datasets" / row.name / f"{row.name}.tsv.gz"
        shape = (int(row.n_rows), int(row.n_features))
        if path.exists() and shape not in seen_shapes:
            seen_shapes.add(shape)
            found.append(Candidate(row.name, path, "target", int(row.n_rows),
                                   int(row.n_features)))
    liac = pd.read_csv(DATA / "liac_arff" / "INDEX.csv")
    liac = liac[liac["parse_ok"].astype(bool) & (liac["last_attr_type"] == "nominal")]
    for row in liac.sort_values("path").itertuples():
        n_features = int(row.n_attributes) - 1
        if row.n_rows < min_rows or not min_features <= n_features <= max_features:
            continue
        name = str(row.relation)
        if index.holds(name, row.n_rows, n_features, None):
            continue
        shape = (int(row.n_rows), n_features)
        if shape not in seen_shapes:
            seen_shapes.add(shape)
            found.append(Candidate(f"{name} (liac)", DATA / "liac_arff" / row.path, None,
                                   int(row.n_rows), n_features))
    return found


def load(candidate: Candidate, max_rows: int, seed: int = 0) -> tuple[pd.DataFrame, pd.Series,
                                                                        str]:
    """The dataset, stratified-subsampled to ``max_rows`` (seeded); returns a note on it."""
    from sklearn.model_selection import train_test_split

    from metarec.io import load_dataset

    dataset = load_dataset(candidate.path, candidate.target, lenient=True)
    if dataset.task != "classification":
        raise ValueError("not a classification dataset")
    X, y = dataset.X, dataset.y
    counts = y.value_counts()
    keep = counts[counts >= 5].index  # classes too rare for 5-fold CV are left out
    X, y = X[y.isin(keep)], y[y.isin(keep)]
    y = y.cat.remove_unused_categories() if hasattr(y, "cat") else y
    note = f"{len(X)}"
    if len(X) > max_rows:
        X, _, y, _ = train_test_split(X, y, train_size=max_rows, stratify=y, random_state=seed)
        note = f"{max_rows} of {len(dataset.X)}"
        counts = y.value_counts()
        keep = counts[counts >= 5].index
        X, y = X[y.isin(keep)], y[y.isin(keep)]
    if y.nunique() < 2:
        raise ValueError("fewer than two classes")
    return X.reset_index(drop=True), y.reset_index(drop=True), note


# -- one arm ---------------------------------------------------------------------------------
def run_arm(X: pd.DataFrame, y: pd.Series, recs: list[dict[str, Any]], seed: int, trials: int,
            cv: int, space: Any, cache: dict[str, float | None],
            k: int = 10, search_space: str = "full",
            extra_random: int = 0) -> list[float | None]:
    """Per-trial CV scores (None: failed) of one TPE study. Cold (``recs`` empty): Optuna's
    standard multivariate TPE over the full space. Warm: ``warmstart.warm_start`` enqueues up
    to ``k`` recommendations, ``warmstart.warm_sampler`` starts modelling once they are done,
    exactly as ``metarec tune`` does; with ``search_space="recommended"`` only the
    recommendations' algorithms are searched (``warmstart.recommended_space``); with
    ``extra_random`` the warm arm samples that many random trials after the warm ones before TPE
    models (an experiment; ``metarec tune`` has none)."""
    import optuna

    from metarec import tuning as warmstart
    from metarec.crossval import check_cv
    from metarec.jsonable import to_jsonable

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
                                       class_weight=weight) if recs else []
    with warmstart.quiet_optuna(50):
        study, _ = warmstart.create_study(None, None, seed, "classification",
                                          "balanced_accuracy",
                                          n_warm=len(warm) + (extra_random if warm else 0))
        warmstart.enqueue_warm_trials(study, warm)
        study.optimize(cached, n_trials=trials, catch=(Exception,))
    done = optuna.trial.TrialState.COMPLETE
    return [t.value if t.state == done else None for t in study.trials]


def recommended(X: pd.DataFrame, y: pd.Series, kb: Any, top_k: int, model: str) -> Any:
    """The warm arm's recommendations: ``metarec tune``'s (model "auto"), or those of another
    MetaLearner model fitted on the same evidence."""
    from metarec import recommend as recommending

    if model == "auto":
        return recommending.recommendations_for(X, y, "classification", kb=kb, top_k=top_k)
    from metarec.io import Dataset
    from metarec.kb.queries import learner_inputs
    from metarec.metalearner import MetaLearner
    from metarec.recommend import recommend
    from metarec.recommend.learner_cache import cached_evidence

    evidence = cached_evidence(kb, "classification")
    mf, perf = learner_inputs(kb, evidence)
    # "portfolio": the shipped learner's settings plus a greedy portfolio ranked first
    settings = ({"model": "auto", "portfolio": "auto", "random_state": 0}
                if model == "portfolio" else {"model": model})
    learner = MetaLearner(**settings).fit(mf, perf, maximize=evidence.higher_is_better)
    dataset = Dataset(X=X, y=pd.Series(np.asarray(y), index=X.index, name="target"),
                      target="target", task="classification", source="data")
    report = recommend(dataset, kb, top_k=top_k, learner=learner)
    return recommending.Recommended(report.recommendations, f"meta-learner ({model})",
                                 report.metafeatures)


def running_best(values: list[float | None]) -> list[float]:
    best, out = -np.inf, []
    for v in values:
        if v is not None:
            best = max(best, v)
        out.append(best)
    return out


def trials_to(values: list[float | None], target: float) -> int | None:
    for i, best in enumerate(running_best(values), start=1):
        if best >= target:
            return i
    return None


def trials_needed(one: list[float | None], other: list[float | None],
                  trials: int) -> tuple[int, int]:
    """Trials each of two runs needs to come within 0.5% of the best score either found; one
    that never gets there counts as ``trials + 1``, which understates its true need."""
    best = max(max(running_best(one)), max(running_best(other)))
    target = best - TOLERANCE * abs(best)
    return trials_to(one, target) or trials + 1, trials_to(other, target) or trials + 1


# -- reporting -------------------------------------------------------------------------------
def summarise(results: dict[str, Any], trials: int) -> tuple[str, dict[str, float]]:
    rows, ratios, cold_n, warm_n = [], [], [], []
    early_cold, early_warm, final_cold, final_warm = [], [], [], []
    for name, entry in results["datasets"].items():
        per_seed = []
        for seed, arms in entry["seeds"].items():
            cold, warm = arms["cold"], arms["warm"]
            nc, nw = trials_needed(cold, warm, trials)
            ratios.append(nc / nw)
            cold_n.append(nc)
            warm_n.append(nw)
            ec, ew = running_best(cold)[:EARLY][-1], running_best(warm)[:EARLY][-1]
            early_cold.append(ec)
            early_warm.append(ew)
            final_cold.append(max(running_best(cold)))
            final_warm.append(max(running_best(warm)))
            per_seed.append((seed, nc, nw, ec, ew))
        med_c = statistics.median(p[1] for p in per_seed)
        med_w = statistics.median(p[2] for p in per_seed)
        rows.append(
            f"| {name} | {entry['rows']} | {len(per_seed)} | {entry['source']} | "
            f"{med_c:.0f} | {med_w:.0f} | "
            f"{med_c / med_w:.2f} | {np.mean([p[3] for p in per_seed]):.4f} | "
            f"{np.mean([p[4] for p in per_seed]):.4f} |"
        )
    # The same measure between two cold arms that differ only in the sampler seed: how far the
    # ratio moves by luck alone, the yardstick for the warm/cold ratio above.
    cold_pairs = []
    for entry in results["datasets"].values():
        seeds = sorted(entry["seeds"])
        for i, a in enumerate(seeds):
            for b in seeds[i + 1:]:
                n_one, n_other = trials_needed(entry["seeds"][a]["cold"],
                                               entry["seeds"][b]["cold"], trials)
                cold_pairs.append(n_one / n_other)
    figures = {
        "cold_cold_median": statistics.median(cold_pairs) if cold_pairs else float("nan"),
        "cold_cold_pairs": len(cold_pairs),
        "cold_cold_2x": float(np.mean([r >= 2 for r in cold_pairs])) if cold_pairs else 0.0,
        "warm_2x": float(np.mean([r >= 2 for r in ratios])),
        "median_ratio": statistics.median(ratios),
        "geomean_ratio": float(np.exp(np.mean(np.log(ratios)))),
        "median_cold": statistics.median(cold_n),
        "median_warm": statistics.median(warm_n),
        "warm_fewer": sum(c > w for c, w in zip(cold_n, warm_n, strict=True)),
        "equal": sum(c == w for c, w in zip(cold_n, warm_n, strict=True)),
        "cold_fewer": sum(c < w for c, w in zip(cold_n, warm_n, strict=True)),
        "pairs": len(ratios),
        "early_cold": float(np.mean(early_cold)),
        "early_warm": float(np.mean(early_warm)),
        "final_cold": float(np.mean(final_cold)),
        "final_warm": float(np.mean(final_warm)),
    }
    table = "\n".join([
        "| dataset | rows used | seeds | warm start from | trials cold (median) "
        "| trials warm (median) | ratio | best after 10, cold | best after 10, warm |",
        "|---|---:|---:|---|---:|---:|---:|---:|---:|",
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


def write_report(results: dict[str, Any], args: argparse.Namespace) -> str:
    from bench.report import machine_line, write_section
    from metarec.tuning import POOL_PER_WARM_TRIAL as POOL

    table, f = summarise(results, args.trials)
    wall_s = sum(seed.get("seconds", 0.0) for entry in results["datasets"].values()
                 for seed in entry["seeds"].values())
    sources = sorted({e["source"] for e in results["datasets"].values()})
    n_sets = len(results["datasets"])
    status = ""
    if n_sets < args.datasets or f["pairs"] < args.datasets * args.seeds:
        status = (
            f"\n**Partial run:** {n_sets} of {args.datasets} datasets and {f['pairs']} of "
            f"{args.datasets * args.seeds} dataset-seed pairs finished before the run was stopped "
            f"({args.partial_reason}). Rerun the command below to complete it: it resumes from "
            "`bench/out/warmstart.json`.\n"
        )
    figures = "\n".join(f"| {label} | {value} |" for label, value in [
        (f"median ratio of trials needed, cold / warm ({f['pairs']} dataset-seed pairs)",
         f"**{f['median_ratio']:.2f}x**"),
        ("geometric mean of that ratio", f"{f['geomean_ratio']:.2f}x"),
        ("pairs where cold needed at least 2x the warm arm's trials",
         f"{100 * f['warm_2x']:.0f}%"),
        (f"luck alone: two cold arms with different sampler seeds ({f['cold_cold_pairs']} "
         "pairs of seeds): median ratio / share of pairs at 2x or more",
         f"{f['cold_cold_median']:.2f}x / {100 * f['cold_cold_2x']:.0f}%"),
        ("median trials needed: cold / warm", f"{f['median_cold']:.0f} / {f['median_warm']:.0f}"),
        ("pairs where warm needed fewer / as many / more trials",
         f"{f['warm_fewer']} / {f['equal']} / {f['cold_fewer']}"),
        (f"mean best score after {EARLY} trials: cold / warm",
         f"{f['early_cold']:.4f} / {f['early_warm']:.4f}"),
        (f"mean best score after {args.trials} trials: cold / warm",
         f"{f['final_cold']:.4f} / {f['final_warm']:.4f}"),
    ])
    space_note = ("; searching only the algorithms those recommendations name, "
                  "`--search-space recommended`" if args.search_space == "recommended"
                  else "; over the full space, `--search-space full`")
    experiment = "".join(f" {flag} {value}" for flag, value, default in (
        ("--warm-model", args.warm_model, "auto"), ("--extra-random", args.extra_random, 0))
        if value != default)
    md = f"""## Warm start vs cold start (`bench/bench_warmstart.py`)

Optuna TPE over metarec's search space, cold (Optuna's standard multivariate TPE, 10 random
start-up trials) vs warm-started the way `metarec tune` does it (`metarec.tuning.warm_start`: up to
{args.k} of the top {POOL * args.k} recommendations of the {", ".join(sources)}, best of each
algorithm first, forests with at least 100 trees, class weighting "balanced" on imbalanced data;
then TPE models from the warm trials at once{space_note}), meta-learner of commit
{_learner_commit()}, on {len(results["datasets"])} classification
datasets the knowledge base does not hold (checked by OpenML id, name and shape). Same budget
({args.trials} trials), same {args.cv}-fold stratified CV (balanced accuracy), same model seeds;
sampler seeds {", ".join(map(str, range(args.seeds)))}. "Trials" = trials needed to come within
0.5% of the best score either arm found on that dataset and seed (an arm that never gets there
counts as {args.trials + 1}, which flatters that arm). Rows: seeded stratified subsample when
larger than {args.max_rows}.

| figure | value |
|---|---:|
{figures}

Target: median ratio >= 2x (aim 3x): **{"met" if f["median_ratio"] >= 2 else "not met"}**.
{status}

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--datasets", type=int, default=10)
    parser.add_argument("--seeds", type=int, default=3)
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
    parser.add_argument("--cache", type=Path, default=OUT / "warmstart.json",
                        help="Per-run results, reused when the run is resumed.")
    parser.add_argument("--no-write", action="store_true", help="Print, do not write the docs.")
    parser.add_argument("--warm-model", choices=("auto", "knn", "portfolio"), default="auto",
                        help="meta-learner behind the warm trials: the shipped one (auto), "
                        "auto-sklearn's warm start (best configurations of the nearest KB "
                        "datasets, MetaLearner(model='knn')), or the shipped one with a greedy "
                        "portfolio ranked first (MetaLearner(portfolio='auto'))")
    parser.add_argument("--extra-random", type=int, default=0,
                        help="random trials after the warm ones before TPE models (experiment)")
    parser.add_argument("--reverse", action="store_true",
                        help="Work through the chosen datasets from the last one (a second "
                        "worker with its own --cache; combine with --merge).")
    parser.add_argument("--merge", type=Path, nargs="*", default=[],
                        help="Other workers' caches to merge before reporting.")
    args = parser.parse_args()

    from metarec import recommend as recommending
    from metarec import tuning as warmstart
    from metarec.tuning.space import space_for

    OUT.mkdir(parents=True, exist_ok=True)
    cache_file = args.cache
    results = json.loads(cache_file.read_text()) if cache_file.exists() else {"datasets": {}}
    kb = recommending.load_kb(None)
    if kb is None:
        raise SystemExit("the benchmark needs the knowledge base (knowledge_base/).")
    for other in args.merge:
        for name, entry in json.loads(other.read_text())["datasets"].items():
            mine = results["datasets"].setdefault(name, entry)
            mine["seeds"] = {**entry["seeds"], **mine["seeds"]}
    if args.merge:
        cache_file.write_text(json.dumps(results))  # a rerun resumes from the merged results
    if not args.report_only:
        chosen = []
        for candidate in candidates(kb, min_rows=150):
            if len(chosen) >= args.datasets:
                break
            try:
                load(candidate, args.max_rows)
            except Exception as exc:  # unreadable or unusable: the next candidate
                print(f"skip {candidate.name}: {exc}", flush=True)
                continue
            chosen.append(candidate)
        for candidate in reversed(chosen) if args.reverse else chosen:
            entry = results["datasets"].get(candidate.name)
            if entry is None:
                try:
                    X, y, note = load(candidate, args.max_rows)
                except Exception as exc:  # unreadable or unusable: the next candidate
                    print(f"skip {candidate.name}: {exc}", flush=True)
                    continue
                found = recommended(X, y, kb, warmstart.POOL_PER_WARM_TRIAL * args.k,
                                    args.warm_model)
                entry = {"rows": note, "source": found.source, "seeds": {},
                         "recommended": [r["algorithm"] for r in found.recommendations]}
                results["datasets"][candidate.name] = entry
            else:
                X, y, _ = load(candidate, args.max_rows)
                found = recommended(X, y, kb, warmstart.POOL_PER_WARM_TRIAL * args.k,
                                    args.warm_model)
            space = space_for("classification", has_missing=bool(X.isna().to_numpy().any()),
                              kb=kb)
            cache: dict[str, float | None] = {}
            for seed in range(args.seeds):
                if str(seed) in entry["seeds"]:
                    continue
                t0 = time.time()
                cold = run_arm(X, y, [], seed, args.trials, args.cv, space, cache)
                warm = run_arm(X, y, found.recommendations, seed, args.trials, args.cv, space,
                               cache, k=args.k, search_space=args.search_space,
                               extra_random=args.extra_random)
                entry["seeds"][str(seed)] = {"cold": cold, "warm": warm,
                                             "seconds": round(time.time() - t0, 1)}
                cache_file.write_text(json.dumps(results))
                print(f"{candidate.name} seed {seed}: cold {max(running_best(cold)):.4f} "
                      f"warm {max(running_best(warm)):.4f} ({time.time() - t0:.0f} s)",
                      flush=True)
    # Every finished (dataset, seed) pair is reported; the table says how many seeds each has.
    complete = {k: v for k, v in results["datasets"].items() if v["seeds"]}
    print(write_report({"datasets": complete}, args))


if __name__ == "__main__":
    main()
