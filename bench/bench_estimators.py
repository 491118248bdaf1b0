"""MetaRecClassifier(n_trials=0) vs LightGBM, random forest and HistGradientBoosting defaults.

5-fold stratified CV (the same folds for every model), balanced accuracy, ROC AUC (one-vs-rest
for more than two classes) and log loss, on classification
datasets from ``../shared/data/datasets`` that the knowledge base does not hold (see
``bench.datasets.candidates``). The baselines get metarec's default preprocessing (mean
imputation + one-hot for the forest; native NaN and ordinal categories for the boosters), so the
comparison is between model choices. Large datasets are subsampled (seeded, stratified; recorded).

    OMP_NUM_THREADS=1 nice python -m bench.bench_estimators [--datasets 20]

Per-dataset results are cached in ``bench/out/estimators_auc.json`` (resumable); the section
``estimators`` of ``docs/benchmarks.md`` is rewritten at the end.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")  # one thread per fit: fair and no oversubscription

import argparse  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

from bench.datasets import OUT, candidates, load  # noqa: E402

TIE = 0.005  # differences in a mean score below this count as ties
# Scores per fold: name in the cache, label in the report, whether lower is better.
METRICS = (("folds", "balanced accuracy", False), ("roc_auc", "ROC AUC", False),
           ("log_loss", "log loss", True))
BASELINES = {
    "LightGBM": "lightgbm",
    "random forest": "random_forest",
    "HistGradientBoosting": "hist_gradient_boosting",
}


def models(seed: int) -> dict[str, Any]:
    from metarec import MetaRecClassifier
    from metarec.pipelines import build

    out: dict[str, Any] = {"metarec": MetaRecClassifier(n_trials=0, random_state=seed)}
    for label, algorithm in BASELINES.items():
        out[label] = build({"task": "classification", "algorithm": algorithm,
                            "hyperparameters": {}}, random_state=seed)
    return out


def evaluate(X: Any, y: Any, folds: int, seed: int) -> dict[str, Any]:
    from sklearn.model_selection import StratifiedKFold, cross_validate

    cv = StratifiedKFold(folds, shuffle=True, random_state=seed)
    scoring = {"folds": "balanced_accuracy",
               "roc_auc": "roc_auc" if y.nunique() == 2 else "roc_auc_ovr",
               "log_loss": "neg_log_loss"}
    scores: dict[str, Any] = {}
    for label, model in models(seed).items():
        start = time.time()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            values = cross_validate(model, X, y, cv=cv, scoring=scoring, error_score=np.nan)
        scores[label] = {
            "folds": [float(v) for v in values["test_folds"]],
            "roc_auc": [float(v) for v in values["test_roc_auc"]],
            "log_loss": [-float(v) for v in values["test_log_loss"]],
            "seconds": round(time.time() - start, 1)}
    metarec = models(seed)["metarec"].fit(X, y)
    scores["metarec_choice"] = metarec.best_spec_["algorithm"]
    scores["metarec_calibrated"] = metarec.calibrator_ is not None
    scores["metarec_notes"] = list(metarec.notes_)
    scores["metarec_source"] = metarec.recommendation_source_
    scores["classes"] = int(y.nunique())
    return scores


def _mean(entry: dict[str, Any], label: str, metric: str = "folds") -> float:
    return float(np.nanmean(entry[label][metric]))


def write_report(results: dict[str, Any], args: argparse.Namespace) -> str:
    from bench.report import machine_line, write_section

    names = list(results)
    everyone = ["metarec", *BASELINES]
    rows = []
    for name in names:
        e = results[name]
        choice = e["metarec_choice"] + ("*" if e.get("metarec_calibrated") else "")
        cells = " | ".join(f"{_mean(e, m, metric):.4f}" for metric, _, _ in METRICS
                           for m in everyone)
        rows.append(f"| {name} | {e['rows']} | {choice} | {cells} |")
    summary = []
    for label in BASELINES:
        cells = []
        for metric, _, lower in METRICS:
            diffs = np.array([_mean(results[n], "metarec", metric)
                              - _mean(results[n], label, metric) for n in names])
            better = -diffs if lower else diffs
            wins, ties = int((better > TIE).sum()), int((np.abs(better) <= TIE).sum())
            cells.append(f"{wins} / {ties} / {int((better < -TIE).sum())} | "
                         f"{np.nanmean(diffs):+.4f}")
        summary.append(f"| {label} | {' | '.join(cells)} |")
    binary = [n for n in names if results[n].get("classes") == 2]
    means = []
    for m in everyone:
        cells = [f"{np.nanmean([_mean(results[n], m, metric) for n in names]):.4f}"
                 for metric, _, _ in METRICS]
        auc_binary = np.nanmean([_mean(results[n], m, "roc_auc") for n in binary])
        means.append(f"| {m} | {cells[0]} | {cells[1]} | {auc_binary:.4f} | {cells[2]} |")
    failed = {m: sum(int(np.isnan(results[n][m][metric]).sum()) for n in names
                     for metric, _, _ in METRICS) for m in everyone}
    failures = ", ".join(f"{m} {k}" for m, k in failed.items())
    sources = sorted({results[n]["metarec_source"] for n in names})
    seconds = {m: sum(results[n][m]["seconds"] for n in names) for m in everyone}
    timing = ", ".join(f"{m} {s / 60:.1f} min" for m, s in seconds.items())
    calibrated = sum(bool(results[n].get("metarec_calibrated")) for n in names)
    moved = [f"{n} ({results[n]['metarec_notes'][0]})" for n in names
             if results[n].get("metarec_notes")]
    header = " | ".join(f"{m} {label}" for _, label, _ in METRICS for m in everyone)
    md = f"""## MetaRecClassifier vs default models (`bench/bench_estimators.py`)

`MetaRecClassifier(n_trials=0)` (fits its top recommendation, from the {", ".join(sources)})
against LightGBM, random forest and HistGradientBoosting with default hyperparameters, on
{len(names)} classification datasets the knowledge base does not hold (by OpenML id, name and
shape; {len(binary)} of them binary). {args.folds}-fold stratified CV, the same folds for every
model; balanced accuracy, ROC AUC (one-vs-rest, macro, for more than two classes) and log loss
from `predict_proba`. Where metarec's pipeline has no probabilities of its own (an SVM: marked *
below, {calibrated} of {len(names)} datasets), `predict_proba` calibrates its out-of-fold
decision values (3-fold). Datasets larger than {args.max_rows} rows are subsampled (seeded,
stratified). A difference within {TIE} is a tie; for log loss lower is better, so a win is a
lower log loss.

| metarec vs | {" | ".join(f"{label}: wins / ties / losses | mean difference"
                          for _, label, _ in METRICS)} |
|---|{"---:|---:|" * len(METRICS)}
{chr(10).join(summary)}

| model | mean balanced accuracy | mean ROC AUC | mean ROC AUC, {len(binary)} binary tasks | \
mean log loss |
|---|---:|---:|---:|---:|
{chr(10).join(means)}

| dataset | rows used | metarec's choice | {header} |
|---|---:|---|{"---:|" * (len(everyone) * len(METRICS))}
{chr(10).join(rows)}

Untuned choices moved for their predicted fit cost: {"; ".join(moved) if moved else "none"}.
Failed folds (scored as missing, left out of the means), over the three scores: {failures}.
Machine: {machine_line()}; CV time: {timing}.
Reproduce: `OMP_NUM_THREADS=1 nice python -m bench.bench_estimators --datasets {args.datasets}
--folds {args.folds} --max-rows {args.max_rows} --cache {args.cache}`.
"""
    if not args.no_write:
        write_section("estimators", md)
    return md


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--datasets", type=int, default=20)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--max-rows", type=int, default=2000)
    parser.add_argument("--cache", type=Path, default=OUT / "estimators_auc.json")
    parser.add_argument("--report-only", action="store_true")
    parser.add_argument("--no-write", action="store_true", help="Print, do not write the docs.")
    args = parser.parse_args()

    from metarec.recommend import load_kb

    kb = load_kb(None)
    if kb is None:
        raise SystemExit("the benchmark needs the knowledge base (knowledge_base/).")
    args.cache.parent.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = (json.loads(args.cache.read_text()) if args.cache.exists()
                               else {})
    if not args.report_only:
        for candidate in candidates(kb, min_rows=100):
            if len(results) >= args.datasets:
                break
            if candidate.name in results:
                continue
            try:
                X, y, note = load(candidate, args.max_rows)
                if y.value_counts().min() < args.folds:
                    raise ValueError(f"a class has fewer than {args.folds} rows")
                entry = {"rows": note, **evaluate(X, y, args.folds, 0)}
            except Exception as exc:  # unreadable or unusable data: the next candidate
                print(f"skip {candidate.name}: {exc}", flush=True)
                continue
            results[candidate.name] = entry
            args.cache.write_text(json.dumps(results))
            print(candidate.name, {m: [round(_mean(entry, m, metric), 4) for metric, _, _ in
                                       METRICS] for m in ["metarec", *BASELINES]},
                  entry["metarec_choice"], flush=True)
    print(write_report(results, args))


if __name__ == "__main__":
    main()
