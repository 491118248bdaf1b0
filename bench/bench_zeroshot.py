"""Zero-shot: ``MetaRecClassifier(n_trials=0)`` beside default models and FLAML's zero-shot
``flaml.default`` estimators.

The datasets of the head-to-head (``bench/holdout.py``: twenty PMLB classification tables of
500-100,000 rows, held out of the knowledge base metarec uses here), 5-fold stratified CV with the
same folds for every model, balanced accuracy. Tables above ``--max-rows`` are subsampled (seeded,
stratified; recorded). Models: metarec (its top recommendation, fitted untuned); LightGBM,
HistGradientBoosting and random forest with their defaults (metarec's preprocessing); FLAML's
``flaml.default`` LGBMClassifier, RandomForestClassifier, ExtraTreesClassifier and XGBClassifier
(hyperparameters chosen from the training data's meta-features by FLAML's zero-shot portfolio;
their own preprocessing). Mean, average rank, win/tie/loss of metarec against each (tie:
|difference| <= 0.005) and a bootstrap 95% CI over datasets of the mean difference.

    python -m bench.holdout --datasets 20
    OMP_NUM_THREADS=1 python -m bench.bench_zeroshot [--max-rows 10000]

Each dataset's results are appended to ``bench/results/zeroshot.jsonl``, which is committed
(resumable on any machine; a dataset's last record holds); the section ``zeroshot`` of
``docs/benchmarks.md`` is rewritten at the end. ``--rerun metarec`` reruns
metarec alone on the same folds after the knowledge base changed (the other models do not
depend on it), keeping its earlier result for comparison.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")  # one thread per fit: fair and no oversubscription

import argparse  # noqa: E402
import hashlib  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from bench import results as record  # noqa: E402
from bench.bench_headtohead import versus  # noqa: E402
from bench.datasets import fingerprint, load  # noqa: E402
from bench.holdout import HOLDOUT_KB, benchmark_datasets  # noqa: E402

RECORD = record.RESULTS / "zeroshot.jsonl"
TIE = 0.005
DEFAULTS = {"LightGBM": "lightgbm", "HistGradientBoosting": "hist_gradient_boosting",
            "random forest": "random_forest"}
FLAML_DEFAULT = ("LGBMClassifier", "RandomForestClassifier", "ExtraTreesClassifier",
                 "XGBClassifier")


def models(seed: int) -> dict[str, Any]:
    import flaml.default

    from metarec import MetaRecClassifier
    from metarec.pipelines import build

    out: dict[str, Any] = {"metarec": MetaRecClassifier(n_trials=0, random_state=seed,
                                                        kb=str(HOLDOUT_KB))}
    for label, algorithm in DEFAULTS.items():
        out[label] = build({"task": "classification", "algorithm": algorithm,
                            "hyperparameters": {}}, random_state=seed)
    for name in FLAML_DEFAULT:
        kind = getattr(flaml.default, name)
        out[f"flaml.default {name}"] = kind(random_state=seed, n_jobs=1)
    return out


def evaluate(X: pd.DataFrame, y: pd.Series, seed: int,
             only: set[str] | None = None) -> dict[str, Any]:
    from sklearn.base import clone
    from sklearn.metrics import balanced_accuracy_score
    from sklearn.model_selection import StratifiedKFold

    folds = list(StratifiedKFold(5, shuffle=True, random_state=seed).split(X, y))
    labels = pd.Series(pd.factorize(y.astype(str), sort=True)[0], index=y.index)
    result: dict[str, Any] = {}
    for label, model in models(seed).items():
        if only is not None and label not in only:
            continue
        started, scores = time.monotonic(), []
        for train, test in folds:
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    fitted = clone(model).fit(X.iloc[train], labels.iloc[train])
                    predicted = np.asarray(fitted.predict(X.iloc[test])).astype(int)
                scores.append(float(balanced_accuracy_score(labels.iloc[test], predicted)))
            except Exception as exc:  # a failed fold is recorded, not fatal
                print(f"  {label} failed a fold: {type(exc).__name__}: {exc}"[:200], flush=True)
                scores.append(float("nan"))
        result[label] = {"folds": scores, "seconds": round(time.monotonic() - started, 1)}
    return result


def fold_mean(result: dict[str, Any]) -> float:
    """A model's mean over its folds; a failed fold (NaN, recorded as null) is left out."""
    return float(np.nanmean(np.asarray(result["folds"], dtype=float)))


def report(results: dict[str, Any], command: str) -> str:
    from bench.report import machine_line

    names = list(results)
    systems = [s for s in results[names[0]]
               if isinstance(results[names[0]][s], dict) and not s.startswith("_")]
    means = pd.DataFrame({s: [fold_mean(results[n][s]) for n in names]
                          for s in systems}, index=names)
    ranks = means.rank(axis=1, ascending=False).mean()
    seconds = {s: sum(results[n][s]["seconds"] for n in names) / 60 for s in systems}
    lines = ["## Zero-shot: MetaRecClassifier(n_trials=0) beside defaults and flaml.default", "",
             f"`{command}` — {machine_line()}.", "",
             f"{len(names)} held-out PMLB classification datasets (the head-to-head's; the "
             "knowledge base metarec uses here was built without them, `bench/holdout.py`), "
             "5-fold stratified CV, the same folds for every model, balanced accuracy.", "",
             "| model | mean balanced accuracy | average rank | CV minutes |",
             "|---|---:|---:|---:|"]
    for system in sorted(systems, key=lambda s: ranks[s]):
        lines.append(f"| {system} | {means[system].mean():.4f} | {ranks[system]:.2f} | "
                     f"{seconds[system]:.1f} |")
    lines += ["", "| metarec minus | mean difference | bootstrap 95% CI | W/T/L |",
              "|---|---:|---|---|"]
    for row in versus(means, "metarec", TIE):
        lines.append(f"| {row['peer']} | {row['mean']:+.4f} | [{row['low']:+.4f}, "
                     f"{row['high']:+.4f}] | {row['wins']}/{row['ties']}/{row['losses']} |")
    earlier = [n for n in names if "metarec" in results[n].get("_earlier", {})]
    if earlier:
        before = pd.Series({n: fold_mean(results[n]["_earlier"]["metarec"]) for n in earlier})
        now = means.loc[earlier, "metarec"]
        [change] = versus(pd.DataFrame({"now": now, "before": before}), "now", TIE)
        # the rank the earlier result would have had among the same models
        ranks_before = means.loc[earlier].assign(metarec=before).rank(
            axis=1, ascending=False).mean()
        lines += ["", f"metarec before its last change (the knowledge base or its learner; "
                  f"same folds, {len(earlier)} datasets): mean {before.mean():.4f}, now "
                  f"{now.mean():.4f}; now minus before {change['mean']:+.4f} "
                  f"[{change['low']:+.4f}, {change['high']:+.4f}], W/T/L {change['wins']}/"
                  f"{change['ties']}/{change['losses']}; its average rank then "
                  f"{ranks_before['metarec']:.2f}, now {ranks.loc['metarec']:.2f} (the other "
                  f"models unchanged)."]
    lines += ["", "Rows used: " + ", ".join(f"{n} ({results[n]['rows']})" for n in names) + "."]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", type=int, default=20)
    parser.add_argument("--max-rows", type=int, default=10_000)
    parser.add_argument("--report-only", action="store_true")
    parser.add_argument("--rerun", action="append", default=[], metavar="MODEL",
                        help="rerun this model (e.g. metarec) on cached datasets, keeping the "
                        "earlier result")
    args = parser.parse_args()
    from bench.report import write_section

    if not (HOLDOUT_KB / "HOLDOUT.json").exists():
        raise SystemExit(f"no held-out knowledge base at {HOLDOUT_KB}: run "
                         f"`python -m bench.holdout --datasets {args.datasets}` first")
    results: dict[str, Any] = record.read(RECORD)
    # The held-out KB's manifest records its tables' checksums and what it held out.
    kb_id = hashlib.sha256((HOLDOUT_KB / "manifest.json").read_bytes()).hexdigest()[:16]
    if not args.report_only:
        for candidate, _, _ in benchmark_datasets(args.datasets):
            X, y, note = load(candidate, args.max_rows)
            data = fingerprint(X, y)
            cached = results.get(candidate.name)
            if cached is not None and cached.get("_data") != data:
                cached = None  # run on other rows (another sampling): every model runs again
            if cached is not None and (not args.rerun or cached.get("_kb") == kb_id):
                continue
            if cached is None:
                entry = {"rows": note, "_data": data, **evaluate(X, y, seed=0)}
            else:
                earlier = {m: cached.pop(m) for m in args.rerun if m in cached}
                entry = {**cached, "_earlier": {**cached.get("_earlier", {}), **earlier},
                         **evaluate(X, y, seed=0, only=set(args.rerun))}
            entry["_kb"] = kb_id  # a resumed rerun skips what this knowledge base already ran
            results[candidate.name] = entry
            record.append(RECORD, candidate.name, entry)
            print(candidate.name, {k: round(fold_mean(v), 4)
                                   for k, v in entry.items()
                                   if isinstance(v, dict) and not k.startswith("_")},
                  flush=True)
    command = "OMP_NUM_THREADS=1 python -m bench.bench_zeroshot " + " ".join(sys.argv[1:])
    write_section("zeroshot", report(results, command))


if __name__ == "__main__":
    main()
