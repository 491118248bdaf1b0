"""MetaRecClassifier(n_trials=0) vs LightGBM, random forest and HistGradientBoosting defaults.

5-fold stratified CV (the same folds for every model), balanced accuracy, on classification
datasets from ``../shared/data/datasets`` that the knowledge base does not hold (see
``bench_warmstart.candidates``). The baselines get metarec's default preprocessing (mean
imputation + one-hot for the forest; native NaN and ordinal categories for the boosters), so the
comparison is between model choices. Large datasets are subsampled (seeded, stratified; recorded).

    OMP_NUM_THREADS=1 nice python -m bench.bench_estimators [--datasets 20]

Per-dataset results are cached in ``bench/out/estimators.json`` (resumable); the section
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

from bench.bench_warmstart import OUT, candidates, load  # noqa: E402

TIE = 0.005  # differences in mean balanced accuracy below this count as ties
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
    from sklearn.model_selection import StratifiedKFold, cross_val_score

    cv = StratifiedKFold(folds, shuffle=True, random_state=seed)
    scores: dict[str, Any] = {}
    for label, model in models(seed).items():
        start = time.time()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            values = cross_val_score(model, X, y, cv=cv, scoring="balanced_accuracy",
                                     error_score=np.nan)
        scores[label] = {"folds": [float(v) for v in values],
                         "seconds": round(time.time() - start, 1)}
    metarec = models(seed)["metarec"].fit(X, y)
    scores["metarec_choice"] = metarec.best_spec_["algorithm"]
    scores["metarec_source"] = metarec.recommendation_source_
    return scores


def _mean(entry: dict[str, Any], label: str) -> float:
    return float(np.nanmean(entry[label]["folds"]))


def write_report(results: dict[str, Any], args: argparse.Namespace) -> str:
    from bench.report import machine_line, write_section

    names = list(results)
    rows = []
    for name in names:
        e = results[name]
        cells = " | ".join(f"{_mean(e, m):.4f}" for m in ["metarec", *BASELINES])
        rows.append(f"| {name} | {e['rows']} | {e['metarec_choice']} | {cells} |")
    summary = []
    for label in BASELINES:
        diffs = np.array([_mean(results[n], "metarec") - _mean(results[n], label)
                          for n in names])
        wins, ties = int((diffs > TIE).sum()), int((np.abs(diffs) <= TIE).sum())
        losses = int((diffs < -TIE).sum())
        summary.append(f"| {label} | {wins} / {ties} / {losses} | {diffs.mean():+.4f} | "
                       f"{np.median(diffs):+.4f} |")
    failed = {m: sum(int(np.isnan(results[n][m]["folds"]).sum()) for n in names)
              for m in ["metarec", *BASELINES]}
    failures = ", ".join(f"{m} {k}" for m, k in failed.items())
    sources = sorted({results[n]["metarec_source"] for n in names})
    seconds = {m: sum(results[n][m]["seconds"] for n in names) for m in ["metarec", *BASELINES]}
    timing = ", ".join(f"{m} {s / 60:.1f} min" for m, s in seconds.items())
    md = f"""## MetaRecClassifier vs default models (`bench/bench_estimators.py`)

`MetaRecClassifier(n_trials=0)` (fits its top recommendation, from the {", ".join(sources)})
against LightGBM, random forest and HistGradientBoosting with default hyperparameters, on
{len(names)} classification datasets the knowledge base does not hold (by OpenML id, name and
shape). {args.folds}-fold stratified CV, the same folds for every model, balanced accuracy;
datasets larger than {args.max_rows} rows are subsampled (seeded, stratified). A difference
within {TIE} is a tie.

| metarec vs | wins / ties / losses | mean difference | median difference |
|---|---:|---:|---:|
{chr(10).join(summary)}

| dataset | rows used | metarec's choice | metarec | {" | ".join(BASELINES)} |
|---|---:|---|---:|{"---:|" * len(BASELINES)}
{chr(10).join(rows)}

Failed folds (scored as missing, left out of the means): {failures}.
Machine: {machine_line()}; CV time: {timing}.
Reproduce: `OMP_NUM_THREADS=1 nice python -m bench.bench_estimators --datasets {args.datasets}
--folds {args.folds} --max-rows {args.max_rows}`.
"""
    if not args.no_write:
        write_section("estimators", md)
    return md


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--datasets", type=int, default=20)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--max-rows", type=int, default=2000)
    parser.add_argument("--cache", type=Path, default=OUT / "estimators.json")
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
            print(candidate.name, {m: round(_mean(entry, m), 4) for m in ["metarec", *BASELINES]},
                  entry["metarec_choice"], flush=True)
    print(write_report(results, args))


if __name__ == "__main__":
    main()
