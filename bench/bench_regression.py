"""Regression on the run campaign's evidence (R²): the meta-learner left out of datasets, and
``MetaRecRegressor(n_trials=0)`` beside default models and FLAML's zero-shot regressors.

    python -m bench.bench_regression metalearner [--kb knowledge_base] [--seeds 0 1 2]
    OMP_NUM_THREADS=1 python -m bench.bench_regression zeroshot [--max-rows 5000]
    python -m bench.bench_regression scaling --datasets 6   # Dask: 1 worker, then 2

Datasets are those of the regression run campaign (``metarec.kb.campaigns.regression``; its
runs in the knowledge base, source ``regression_campaign``). Every split over datasets is grouped
by *family* (:func:`family`), so that copies and variants of one source -- the Friedman
``fri_c*`` series, a table and its ``BNG_`` enlargement -- fall on one side.

``metalearner`` (section ``regression-metalearner``): ``bench/bench_campaign.py`` on the R²
of the regression campaign, at k = 1 and 5.

``zeroshot`` (section ``regression-zeroshot``): the same grouped folds (seed 0); for each fold a
knowledge base of the campaign's runs without that fold's datasets (``bench/out/regression-kb/``),
and on every held-out dataset's raw table (the rows the campaign used) 5-fold CV, the same folds
for every model, of ``MetaRecRegressor(n_trials=0)`` on that knowledge base, LightGBM,
HistGradientBoosting and random forest with their defaults (metarec's preprocessing) and
``flaml.default`` LGBMRegressor, RandomForestRegressor and ExtraTreesRegressor. Mean R², average
rank, W/T/L of metarec against each (tie: |ΔR²| <= 0.005), bootstrap 95% CI over datasets.
Results are cached per dataset in ``bench/out/regression-zeroshot-fold<F>.json`` (resumable;
``--folds`` runs some folds, so that processes can share the work).

``scaling`` (section ``regression-scaling``): ``--datasets`` campaign datasets of typical size
(from a third of the way up its size order), run into fresh folders on a Dask ``LocalCluster``
of 1 and then 2 workers; wall time of each and the speed-up.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")  # one thread per fit: fair and no oversubscription

import argparse  # noqa: E402
import hashlib  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from bench.bench_campaign import (  # noqa: E402
    SOURCES,
    campaign_evidence,
    evaluate_metalearner,
    grouped_folds,
    metalearner_markdown,
)
from bench.bench_headtohead import versus  # noqa: E402
from bench.report import machine_line, write_section  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
SOURCE = SOURCES["regression"][0]
TIE = 0.005
FOLDS = 5
DEFAULTS = {"LightGBM": "lightgbm", "HistGradientBoosting": "hist_gradient_boosting",
            "random forest": "random_forest"}
FLAML_DEFAULT = ("LGBMRegressor", "RandomForestRegressor", "ExtraTreesRegressor")


# -- zero-shot on the held-out datasets' raw data -------------------------------------------------
def fold_kb(kb: Any, held_out: list[str], folder: Path) -> Path:
    """A knowledge base of the campaign's runs without ``held_out`` (written once)."""
    from metarec.kb import schema, store

    marker = folder / "HELD_OUT.json"
    if marker.is_file() and json.loads(marker.read_text()) == sorted(held_out):
        return folder
    keep = {name: getattr(kb, name) for name in schema.TABLES}
    runs = keep["runs"]
    runs = runs[(runs["source"] == SOURCE) & ~runs["dataset_id"].isin(held_out)]
    datasets = set(runs["dataset_id"])
    tables = {"runs": runs,
              "datasets": keep["datasets"][keep["datasets"]["dataset_id"].isin(datasets)],
              "metafeatures": keep["metafeatures"][
                  keep["metafeatures"]["dataset_id"].isin(datasets)],
              "configurations": keep["configurations"][
                  keep["configurations"]["configuration_id"].isin(set(runs["configuration_id"]))]}
    manifest = {k: v for k, v in kb.manifest.items() if k != "tables"}
    manifest["sources"] = {SOURCE: kb.manifest["sources"][SOURCE]}
    store.write(tables, manifest, folder)
    marker.write_text(json.dumps(sorted(held_out)))
    return folder


METAREC = "metarec"


def models(kb_path: Path, seed: int) -> dict[str, Any]:
    import flaml.default

    from metarec import MetaRecRegressor
    from metarec.pipelines import build

    out: dict[str, Any] = {METAREC: MetaRecRegressor(n_trials=0, random_state=seed,
                                                     kb=str(kb_path))}
    for label, algorithm in DEFAULTS.items():
        out[label] = build({"task": "regression", "algorithm": algorithm,
                            "hyperparameters": {}}, random_state=seed)
    for name in FLAML_DEFAULT:
        out[f"flaml.default {name}"] = getattr(flaml.default, name)(random_state=seed, n_jobs=1)
    return out


def cross_validate(X: pd.DataFrame, y: pd.Series, kb_path: Path, seed: int,
                   known: dict[str, Any] | None = None) -> dict[str, Any]:
    """Every model's 5-fold R² on (X, y); those in ``known`` (label -> result) are not rerun."""
    from sklearn.base import clone
    from sklearn.metrics import r2_score
    from sklearn.model_selection import KFold

    folds = list(KFold(5, shuffle=True, random_state=seed).split(X, y))
    result: dict[str, Any] = {}
    for label, model in models(kb_path, seed).items():
        if known and label in known:
            result[label] = known[label]
            continue
        started, scores = time.monotonic(), []
        for train, test in folds:
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    # flaml.default's estimators want numbers; metarec's pipelines encode
                    data = X if label.startswith((METAREC, "LightGBM", "Hist", "random")) \
                        else pd.get_dummies(X, dummy_na=False).astype(float)
                    fitted = clone(model).fit(data.iloc[train], y.iloc[train])
                    scores.append(float(r2_score(y.iloc[test], fitted.predict(data.iloc[test]))))
            except Exception as exc:  # a failed fold is recorded, not fatal
                print(f"  {label} failed a fold: {type(exc).__name__}: {exc}"[:200], flush=True)
                scores.append(float("nan"))
        result[label] = {"folds": scores, "seconds": round(time.monotonic() - started, 1)}
    return result


def _fold_cache(fold: int) -> Path:
    return OUT / f"regression-zeroshot-fold{fold}.json"


def cached_results() -> dict[str, Any]:
    results: dict[str, Any] = {}
    for fold in range(FOLDS):
        if _fold_cache(fold).exists():
            results.update(json.loads(_fold_cache(fold).read_text()))
    return results


def zeroshot(kb: Any, campaign_folder: Path, data_root: Path, max_rows: int,
             folds: list[int], limit: int | None) -> dict[str, Any]:
    """Run the held-out folds ``folds`` (each cached in its own file, so that folds can run in
    parallel processes); return every cached result."""
    from metarec.files import atomic_write_text
    from metarec.kb.campaigns import campaign

    _, perf, families = campaign_evidence(kb, "regression")
    selection = {e["dataset_id"]: e for e in json.loads(
        (campaign_folder / "selection.json").read_text())["kept"]}
    # The defaults do not depend on the knowledge base: their results are reused when a
    # dataset's fold changed (datasets added to the campaign re-deal the folds); metarec's are
    # rerun unless its fold's knowledge base held out the same datasets.
    earlier = cached_results()
    for f, held in enumerate(grouped_folds(families, FOLDS, 0)):
        if f not in folds:
            continue
        cache = _fold_cache(f)
        held_out = sorted(perf.index[held])
        held_key = hashlib.sha256(json.dumps(held_out).encode()).hexdigest()[:16]
        names = list(perf.index[held])[:limit]
        results: dict[str, Any] = {
            k: v for k, v in (json.loads(cache.read_text()) if cache.exists() else {}).items()
            if k in held_out and v.get("held_out") == held_key}
        kb_path = fold_kb(kb, held_out, OUT / "regression-kb" / f"fold{f}")
        for dataset_id in names:
            if dataset_id in results or dataset_id not in selection:
                continue
            entry = selection[dataset_id]
            candidate = campaign.Candidate(**{k: entry[k] for k in
                                              campaign.Candidate.__dataclass_fields__})
            dataset = campaign._read(data_root, candidate)
            X, y = campaign.sample(dataset.X, dataset.y, max_rows)
            y = y.astype(float)
            before = earlier.get(dataset_id, {})
            known = ({label: v for label, v in before.items()
                      if isinstance(v, dict) and label != METAREC}
                     if before.get("rows") == len(y) else {})
            results[dataset_id] = {"name": candidate.name, "family": families[dataset_id],
                                   "fold": f, "rows": len(y), "held_out": held_key,
                                   **cross_validate(X, y, kb_path, seed=0, known=known)}
            atomic_write_text(cache, json.dumps(results))
            print(candidate.name, {k: round(float(np.nanmean(v["folds"])), 4)
                                   for k, v in results[dataset_id].items()
                                   if isinstance(v, dict)}, flush=True)
    return cached_results()


def zeroshot_markdown(results: dict[str, Any], command: str) -> str:
    names = list(results)
    systems = [s for s in results[names[0]] if isinstance(results[names[0]][s], dict)]
    means = pd.DataFrame({s: [np.nanmean(results[n][s]["folds"]) for n in names]
                          for s in systems}, index=names)
    ranks = means.rank(axis=1, ascending=False).mean()
    minutes = {s: sum(results[n][s]["seconds"] for n in names) / 60 for s in systems}
    lines = ["## Regression zero-shot: MetaRecRegressor(n_trials=0) beside defaults and "
             "flaml.default", "", f"`{command}` — {machine_line()}.", "",
             f"{len(names)} datasets of the regression run campaign, each held out of the "
             "knowledge base metarec uses for it (grouped 5-fold over datasets, a family on one "
             "side); on the rows the campaign used, 5-fold CV, the same folds for every model, "
             "R² (mean over folds; a failed fold is left out of its mean).", "",
             "| model | mean R² | median R² | average rank | CV minutes |",
             "|---|---:|---:|---:|---:|"]
    for system in sorted(systems, key=lambda s: ranks[s]):
        lines.append(f"| {system} | {means[system].mean():.4f} | {means[system].median():.4f} | "
                     f"{ranks[system]:.2f} | {minutes[system]:.1f} |")
    lines += ["", "| metarec minus | mean ΔR² | bootstrap 95% CI | W/T/L | wins of non-tied |",
              "|---|---:|---|---|---:|"]
    for row in versus(means, METAREC, TIE):
        decided = row["wins"] + row["losses"]
        share = row["wins"] / decided if decided else float("nan")
        lines.append(f"| {row['peer']} | {row['mean']:+.4f} | [{row['low']:+.4f}, "
                     f"{row['high']:+.4f}] | {row['wins']}/{row['ties']}/{row['losses']} | "
                     f"{share:.0%} |")
    worst = (means[METAREC] - means.drop(columns=METAREC).max(axis=1)).sort_values()
    lines += ["", "Largest shortfalls of metarec against the best model on a dataset: "
              + ", ".join(f"{results[n]['name']} ({v:+.3f})" for n, v in worst.head(5).items())
              + "."]
    return "\n".join(lines)


# -- Dask scaling ---------------------------------------------------------------------------------
def scaling(campaign_folder: Path, data_root: Path, datasets: int) -> str:
    """The same campaign work on a Dask LocalCluster of 1, then 2 workers."""
    from metarec.kb.campaigns import campaign, regression

    selection = json.loads((campaign_folder / "selection.json").read_text())
    by_size = sorted(selection["kept"], key=lambda e: (min(e["rows"], campaign.MAX_ROWS)
                                                       * e["features"], e["dataset_id"]))
    # tables of typical size for the campaign (from a third of the way up the size order):
    # the smallest finish in a few seconds, where a cluster's overheads dominate
    start = len(by_size) // 3
    chosen = by_size[start:start + datasets]
    walls, cpu = {}, {}
    for workers in (1, 2):
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "out"
            out.mkdir()
            (out / "selection.json").write_text(json.dumps({**selection, "kept": chosen}))
            started = time.perf_counter()
            figures = regression.run(out, data_root, n_jobs=workers, backend="dask")
            walls[workers] = time.perf_counter() - started
            log = [json.loads(line) for line in (out / "datasets.jsonl").read_text().splitlines()]
            cpu[workers] = sum(entry["cv_seconds"] for entry in log)
            print(f"{workers} worker(s): {walls[workers]:.0f} s, {figures}", flush=True)
    names = ", ".join(f"{e['name']} ({min(e['rows'], campaign.MAX_ROWS)} x {e['features']})"
                      for e in chosen)
    return "\n".join([
        "## Regression campaign on Dask: 1 and 2 workers (`bench/bench_regression.py scaling`)",
        "", f"{machine_line()}. The same {len(chosen)} campaign datasets ({names}), 200 "
        "configurations each, 5-fold CV, into a fresh folder per run, on a Dask LocalCluster "
        "of 1 and then 2 single-threaded worker processes. *Worker seconds*: every "
        "configuration's cross-validation time, summed (the campaign's `cv_seconds`).", "",
        "| workers | wall time | worker seconds | speed-up |", "|---:|---:|---:|---:|",
        *(f"| {w} | {walls[w]:.0f} s | {cpu[w]:.0f} s | {walls[1] / walls[w]:.2f}x |"
          for w in (1, 2))])


def main(argv: list[str] | None = None) -> int:
    from metarec import kb as kb_module

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("part", choices=("metalearner", "zeroshot", "scaling"))
    parser.add_argument("--kb", type=Path, default=ROOT / "knowledge_base")
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--max-rows", type=int, default=5_000)
    parser.add_argument("--datasets", type=int,
                        help="zeroshot: only so many per fold; scaling: 12 by default")
    parser.add_argument("--folds", type=int, nargs="+", default=list(range(FOLDS)),
                        help="zeroshot: the held-out folds to run (one process per fold runs "
                        "them in parallel)")
    parser.add_argument("--report-only", action="store_true")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    command = "python -m bench.bench_regression " + " ".join(sys.argv[1:])
    if args.part == "scaling":
        text = scaling(args.kb / "campaigns" / "regression", args.data, args.datasets or 6)
        section = "regression-scaling"
    else:
        kb = kb_module.load(args.kb)
        if args.part == "metalearner":
            text = metalearner_markdown(evaluate_metalearner(kb, args.seeds, FOLDS, "regression",
                                                                (1, 5)), command)
            section = "regression-metalearner"
        else:
            results = (cached_results() if args.report_only else zeroshot(
                kb, args.kb / "campaigns" / "regression", args.data, args.max_rows,
                args.folds, args.datasets))
            text = zeroshot_markdown(results, "OMP_NUM_THREADS=1 " + command)
            section = "regression-zeroshot"
    print(text)
    if not args.no_write:
        write_section(section, text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
