"""metarec beside FLAML, AutoGluon and LightGBM defaults at equal wall time.

Twenty PMLB classification datasets of 500-100,000 rows spread over their sizes, held out of
the knowledge base metarec uses here (``bench/holdout.py``: a copy of the shipped one without
them, its learners fitted on it; build it first); two stratified 75/25 splits each. On every
(dataset, split) the systems run one after the other, interleaved, each in its own process
with one thread (``OMP_NUM_THREADS=1``, ``n_jobs=1`` / ``num_cpus=1``) and the same budget:

- metarec: ``MetaRecClassifier(time_budget=S)``;
- FLAML: ``AutoML().fit(..., time_budget=S, metric=balanced accuracy)``;
- AutoGluon: ``TabularPredictor(eval_metric="balanced_accuracy").fit(time_limit=S,
  presets="medium_quality", num_cpus=1)``;
- LightGBM with its defaults (metarec's preprocessing: native NaN, ordinal categories).

Test balanced accuracy on the held-out 25%, and each system's wall time for ``fit`` (measured
around the call, in its process). Per budget: mean, average rank, win/tie/loss of metarec
against each (tie: |difference| <= 0.005), a bootstrap 95% CI over datasets of metarec minus
each peer (splits averaged per dataset first), and the largest fit time over the budget.

    python -m bench.holdout --datasets 20
    python -m bench.bench_headtohead --budgets 30 120 [--datasets 20] [--splits 2]

Needs the ``bench`` extra (``pip install -c constraints.txt -e '.[bench]'``). Each finished run
(dataset, split, budget, system) is appended to ``bench/results/headtohead.jsonl``, which is
committed: a run already recorded on the same rows is not made again (resumable, on any
machine), and ``--every 2`` / ``--every 2 --offset 1`` in two processes share the file. At the
end each budget's section of ``docs/benchmarks.md`` (``headtohead-<budget>s``) is rewritten
from the record; a budget with no recorded run leaves its section as it is.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bench import results
from bench.datasets import fingerprint, load
from bench.holdout import HOLDOUT_KB, benchmark_datasets

SYSTEMS = ("metarec", "FLAML", "AutoGluon", "LightGBM defaults")
TIE = 0.005
MAX_ROWS = 100_000
RECORD = results.RESULTS / "headtohead.jsonl"
# A system's process is killed at this multiple of the budget (plus start-up): a hung run must
# not stop the benchmark; it is recorded as such.
KILL_FACTOR, KILL_EXTRA_S = 3.0, 120.0


# -- one system on one split, in its own process -----------------------------------------------

def _balanced_accuracy_metric(X_val: Any, y_val: Any, estimator: Any, labels: Any,
                              X_train: Any, y_train: Any, *args: Any, **kwargs: Any
                              ) -> tuple[float, dict[str, float]]:
    from sklearn.metrics import balanced_accuracy_score

    score = balanced_accuracy_score(y_val, estimator.predict(X_val))
    return 1.0 - score, {"balanced_accuracy": score}


def fit_predict(system: str, X_train: pd.DataFrame, y_train: pd.Series, X_test: pd.DataFrame,
                budget: float, seed: int, workdir: Path) -> tuple[np.ndarray, float]:
    """Fit ``system`` on the training part; its test predictions and its fit wall time."""
    started = time.monotonic()
    if system == "metarec":
        from metarec import MetaRecClassifier

        model: Any = MetaRecClassifier(time_budget=budget, random_state=seed, n_jobs=1,
                                       kb=str(HOLDOUT_KB))
        model.fit(X_train, y_train)
    elif system == "FLAML":
        from flaml import AutoML

        model = AutoML()
        model.fit(X_train, y_train, task="classification", time_budget=budget,
                  metric=_balanced_accuracy_metric, n_jobs=1, seed=seed, verbose=0)
    elif system == "AutoGluon":
        from autogluon.tabular import TabularPredictor

        frame = X_train.assign(__target__=y_train.to_numpy())
        model = TabularPredictor(label="__target__", eval_metric="balanced_accuracy",
                                 path=str(workdir / "ag"), verbosity=0)
        model.fit(frame, time_limit=budget, presets="medium_quality", num_cpus=1,
                  num_gpus=0)
    elif system == "LightGBM defaults":
        from metarec.pipelines import build

        model = build({"task": "classification", "algorithm": "lightgbm",
                       "hyperparameters": {}}, random_state=seed).fit(X_train, y_train)
    else:
        raise ValueError(f"unknown system {system!r}")
    seconds = time.monotonic() - started
    return np.asarray(model.predict(X_test)), seconds


def _one(args: argparse.Namespace) -> None:
    """Child process: one system on one prepared split; prints one JSON line."""
    from sklearn.metrics import balanced_accuracy_score

    workdir = Path(args.workdir)
    train = pd.read_parquet(workdir / "train.parquet")
    test = pd.read_parquet(workdir / "test.parquet")
    y_train, y_test = train.pop("__target__"), test.pop("__target__")
    predicted, seconds = fit_predict(args.one, train, y_train, test, args.budget, args.seed,
                                     workdir)
    score = balanced_accuracy_score(y_test.astype(str), pd.Series(predicted).astype(str))
    print(json.dumps({"score": float(score), "fit_seconds": seconds}))


# -- the benchmark ------------------------------------------------------------------------------

def chosen_datasets(n: int) -> list[Any]:
    if not (HOLDOUT_KB / "HOLDOUT.json").exists():
        raise SystemExit(f"no held-out knowledge base at {HOLDOUT_KB}: run "
                         f"`python -m bench.holdout --datasets {n}` first")
    return [candidate for candidate, _, _ in benchmark_datasets(n)]


def _split(X: pd.DataFrame, y: pd.Series, seed: int, workdir: Path) -> None:
    from sklearn.model_selection import train_test_split

    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, stratify=y,
                                                        random_state=seed)
    labels = y.astype(str)
    X_train.assign(__target__=labels.loc[y_train.index].to_numpy()).to_parquet(
        workdir / "train.parquet")
    X_test.assign(__target__=labels.loc[y_test.index].to_numpy()).to_parquet(
        workdir / "test.parquet")


def run_system(system: str, budget: float, seed: int, workdir: Path) -> dict[str, Any]:
    root = Path(__file__).resolve().parent.parent
    # the child runs in the split's folder: CatBoost (inside AutoGluon) writes there
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
           "MKL_NUM_THREADS": "1", "PYTHONPATH": str(root)}
    command = [sys.executable, "-m", "bench.bench_headtohead", "--one", system, "--budget",
               str(budget), "--seed", str(seed), "--workdir", str(workdir)]
    started = time.monotonic()
    try:
        done = subprocess.run(command, capture_output=True, text=True, env=env,
                              timeout=KILL_FACTOR * budget + KILL_EXTRA_S, cwd=workdir)
    except subprocess.TimeoutExpired:
        return {"score": None, "error": "killed: ran past 3x its budget",
                "process_seconds": time.monotonic() - started}
    result: dict[str, Any] = {"process_seconds": time.monotonic() - started}
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        result.update(score=None, error=(done.stderr.strip().splitlines() or ["?"])[-1][:300])
    else:
        result.update(json.loads(lines[-1]))
    return result


def _commit() -> str:
    """The checkout's commit: which code produced a cached run."""
    done = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                          text=True, cwd=Path(__file__).resolve().parent)
    return done.stdout.strip() or "unknown"


def run(budgets: list[float], n_datasets: int, n_splits: int, every: int = 1,
        offset: int = 0) -> dict[str, Any]:
    cache = results.read(RECORD)
    versions = peer_versions()
    datasets = chosen_datasets(n_datasets)[offset::every]
    for budget in budgets:
        for candidate in datasets:
            X, y, note = load(candidate, MAX_ROWS)
            data = fingerprint(X, y)
            for split in range(n_splits):
                keys = {s: f"{candidate.name}|{split}|{budget:g}|{s}" for s in SYSTEMS}
                for key in keys.values():  # a result on other rows is run again
                    if key in cache and cache[key].get("data") != data:
                        print(f"{key}: recorded on other rows; running it again", flush=True)
                        del cache[key]
                if all(k in cache for k in keys.values()):
                    continue
                with tempfile.TemporaryDirectory(prefix="h2h-") as tmp:
                    workdir = Path(tmp)
                    _split(X, y, split, workdir)
                    for system in SYSTEMS:
                        if keys[system] in cache:
                            continue
                        result = run_system(system, budget, split, workdir)
                        result.update(rows=len(X), note=note, load=os.getloadavg()[0],
                                      commit=_commit(), data=data, versions=versions,
                                      finished=datetime.now(timezone.utc).isoformat(
                                          timespec="seconds"))
                        cache[keys[system]] = result
                        results.append(RECORD, keys[system], result)
                        print(f"{budget:g}s {candidate.name} split {split} {system}: "
                              f"{result.get('score')} in {result.get('fit_seconds', '-')} s "
                              f"{result.get('error', '')}", flush=True)
    return cache


# -- the report ---------------------------------------------------------------------------------

def table(cache: dict[str, Any], budget: float) -> pd.DataFrame:
    """Rows (dataset, split, system) with score and fit seconds for one budget."""
    rows = []
    for key, value in cache.items():
        name, split, b, system = key.split("|")
        if float(b) == budget:
            rows.append({"dataset": name, "split": int(split), "system": system,
                         "score": value.get("score"), "fit_seconds": value.get("fit_seconds"),
                         "rows": value.get("rows"), "load": value.get("load")})
    return pd.DataFrame(rows)


def bootstrap_means(values: np.ndarray, n: int = 10_000, seed: int = 0) -> np.ndarray:
    """The means of ``n`` resamples of ``values`` (with replacement, seeded)."""
    rng = np.random.default_rng(seed)
    return rng.choice(values, size=(n, len(values)), replace=True).mean(axis=1)


def bootstrap_ci(values: np.ndarray, n: int = 10_000, seed: int = 0) -> tuple[float, float]:
    means = bootstrap_means(values, n, seed)
    return float(np.quantile(means, 0.025)), float(np.quantile(means, 0.975))


def versus(means: pd.DataFrame, reference: str, tie: float) -> list[dict[str, Any]]:
    """Per other column of ``means`` (datasets x systems): ``reference`` minus it over the
    datasets both have, its bootstrap CI and wins/ties/losses (a tie: |difference| <= ``tie``)."""
    rows = []
    for peer in means.columns:
        if peer == reference:
            continue
        diff = (means[reference] - means[peer]).dropna().to_numpy()
        low, high = bootstrap_ci(diff)
        wins, losses = int((diff > tie).sum()), int((diff < -tie).sum())
        rows.append({"peer": peer, "mean": float(diff.mean()), "low": low, "high": high,
                     "wins": wins, "ties": len(diff) - wins - losses, "losses": losses})
    return rows


def summarise(frame: pd.DataFrame, budget: float) -> list[str]:
    # A system that failed on a split scores 0 there (as the AutoML benchmark counts a failure
    # as the worst result); the count of failures is reported beside.
    scores = frame.pivot_table(index=["dataset", "split"], columns="system", values="score",
                               aggfunc="first")
    complete = scores.reindex(columns=list(SYSTEMS))
    failures = complete.isna().sum()
    per_dataset = complete.fillna(0.0).groupby(level="dataset").mean()
    ranks = per_dataset.rank(axis=1, ascending=False).mean()
    seconds = frame.pivot_table(index=["dataset", "split"], columns="system",
                                values="fit_seconds", aggfunc="first")
    loads = frame["load"].dropna()
    n_splits = scores.index.get_level_values("split").nunique()
    lines = [f"### Budget {budget:g} s ({len(per_dataset)} datasets x "
             f"{n_splits} split{'s' if n_splits > 1 else ''}; 1-min load average "
             f"{loads.min():.1f}-{loads.max():.1f} during the runs, median {loads.median():.1f})",
             "",
             "| system | mean balanced accuracy | average rank | failed runs | median fit s | "
             "max fit / budget |", "|---|---:|---:|---:|---:|---:|"]
    for system in SYSTEMS:
        fit = seconds[system].dropna() if system in seconds else pd.Series(dtype=float)
        lines.append(
            f"| {system} | {per_dataset[system].mean():.4f} | {ranks[system]:.2f} | "
            f"{int(failures[system])} | {fit.median():.1f} | "
            f"{fit.max() / budget:.2f} |")
    lines += ["", "| metarec minus | mean difference | bootstrap 95% CI | W/T/L |",
              "|---|---:|---|---|"]
    for peer in SYSTEMS[1:]:
        diff = (per_dataset["metarec"] - per_dataset[peer]).to_numpy()
        low, high = bootstrap_ci(diff)
        wins, losses = int((diff > TIE).sum()), int((diff < -TIE).sum())
        lines.append(f"| {peer} | {diff.mean():+.4f} | [{low:+.4f}, {high:+.4f}] | "
                     f"{wins}/{len(diff) - wins - losses}/{losses} |")
    lines += ["", "| dataset | " + " | ".join(SYSTEMS) + " |",
              "|---|" + "---:|" * len(SYSTEMS)]
    for name, row in per_dataset.iterrows():
        lines.append(f"| {name} | " + " | ".join(f"{row[s]:.4f}" for s in SYSTEMS) + " |")
    return lines


def budget_section(cache: dict[str, Any], budget: float) -> str | None:
    """The markdown for one budget from the record, or None when it holds no run of it."""
    from bench.report import machine_line

    frame = table(cache, budget)
    if frame.empty:
        return None
    runs = {k: v for k, v in cache.items() if float(k.split("|")[2]) == budget}
    finished = sorted(v["finished"] for v in runs.values() if v.get("finished"))
    commits: dict[str, set[str]] = {}
    versions: set[str] = set()
    for key, value in runs.items():
        commits.setdefault(key.split("|")[3], set()).add(value.get("commit", "not recorded"))
        versions.update(f"{k} {v}" for k, v in value.get("versions", {}).items())
    when = (f"runs finished {finished[0][:16]} to {finished[-1][:16]} UTC"
            if finished else "run times not recorded")
    rows = {k.split("|")[0]: v.get("rows") for k, v in runs.items()}
    lines = summarise(frame, budget) + [
        "", f"Written from `bench/results/headtohead.jsonl` ({when}) on {machine_line()}. "
        "Code behind the runs (metarec's commit when each was made): "
        + "; ".join(f"{system}: {', '.join(sorted(found))}"
                    for system, found in sorted(commits.items()))
        + (f"; peers: {', '.join(sorted(versions))}" if versions else "") + ".",
        "", "Datasets: " + ", ".join(f"{n} ({rows[n]})" for n in sorted(rows)) + "."]
    return "\n".join(lines)


def peer_versions() -> dict[str, str]:
    """The installed versions of what the systems run on."""
    from importlib import metadata

    found = {}
    for package in ("flaml", "autogluon.tabular", "lightgbm", "scikit-learn"):
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            continue
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budgets", type=float, nargs="+", default=[30.0, 120.0])
    parser.add_argument("--datasets", type=int, default=20)
    parser.add_argument("--splits", type=int, default=2)
    parser.add_argument("--every", type=int, default=1,
                        help="run every N-th of the datasets (a subset for long budgets)")
    parser.add_argument("--offset", type=int, default=0, help="the first of them")
    parser.add_argument("--report-only", action="store_true")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    parser.add_argument("--budget", type=float, help=argparse.SUPPRESS)
    parser.add_argument("--seed", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--workdir", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        _one(args)
        return
    if not args.report_only:
        run(args.budgets, args.datasets, args.splits, args.every, args.offset)
    from bench.report import BENCHMARKS_MD, write_section

    # read again: another process may have added its runs to the record meanwhile
    cache = results.read(RECORD)
    previous = "headtohead"
    for budget in sorted(args.budgets):
        name = f"headtohead-{budget:g}s"
        section = budget_section(cache, budget)
        if section is not None:
            write_section(name, section, after=previous)
        if f"<!-- END {name} -->" in BENCHMARKS_MD.read_text(encoding="utf-8"):
            previous = name


if __name__ == "__main__":
    main()
