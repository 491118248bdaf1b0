"""Regression on the run campaign's evidence (R²): the meta-learner left out of datasets, and
``MetaRecRegressor(n_trials=0)`` beside default models and FLAML's zero-shot regressors.

    python -m bench.bench_regression metalearner [--kb knowledge_base] [--seeds 0 1 2]
    OMP_NUM_THREADS=1 python -m bench.bench_regression zeroshot [--max-rows 5000]
    python -m bench.bench_regression scaling --datasets 6   # Dask: 1 worker, then 2

Datasets are those of the regression run campaign (``metarec.kb.campaigns.regression``; its
runs in the knowledge base, source ``regression_campaign``). Every split over datasets is grouped
by *family* (:func:`family`), so that copies and variants of one source -- the Friedman
``fri_c*`` series, a table and its ``BNG_`` enlargement -- fall on one side.

``metalearner`` (section ``regression-metalearner``): outer grouped 5-fold over datasets per seed;
in each fold the learner ``metarec recommend`` ships (``LEARNER_SETTINGS``) is fitted on the other
datasets' meta-features and R²; on the held-out ones: gap closed at k = 1 and 5 (best of the
first k; SBS = the training datasets' single best configuration by mean normalised regret) for
the meta-learner's diverse ranking (what ``recommend`` shows), the static greedy portfolio of
the training datasets and that portfolio in the meta-learner's order (``candidate_set``);
calibration of the predicted R² (share of held-out cells within ± 1 reported standard
deviation; target 60-75%). Differences with a 95% bootstrap CI over datasets.

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
import re  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from bench.bench_calibration import cells  # noqa: E402
from bench.bench_calibration import summary as calibration  # noqa: E402
from bench.bench_headtohead import bootstrap_ci, versus  # noqa: E402
from bench.report import machine_line, write_section  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
SOURCE = "regression_campaign"
TIE = 0.005
KS = (1, 5)
FOLDS = 5
DEFAULTS = {"LightGBM": "lightgbm", "HistGradientBoosting": "hist_gradient_boosting",
            "random forest": "random_forest"}
FLAML_DEFAULT = ("LGBMRegressor", "RandomForestRegressor", "ExtraTreesRegressor")


def family(name: str) -> str:
    """The group a dataset belongs to: copies and variants of one source share it."""
    key = re.sub(r"^\d+_", "", str(name)).lower()
    if key.startswith("fri_"):
        return "friedman"
    key = re.sub(r"^bng_", "", key)
    return re.sub(r"[^a-z0-9]", "", key)


def campaign_evidence(kb: Any) -> tuple[pd.DataFrame, pd.DataFrame, pd.Series]:
    """Meta-features (as recommend learns from them), R² matrix and family of each dataset."""
    from metarec.kb.queries import Evidence, learner_inputs

    runs = kb.runs[(kb.runs["source"] == SOURCE) & (kb.runs["metric"] == "r2")]
    evidence = Evidence(SOURCE, "r2", True, runs["dataset_id"].nunique(),
                        runs["configuration_id"].nunique())
    mf, perf = learner_inputs(kb, evidence)
    datasets = perf.index[perf.index.isin(mf.index) & perf.notna().any(axis=1)]
    names = kb.datasets.set_index("dataset_id")["name"]
    families = pd.Series([family(names.get(d, d)) for d in datasets], index=datasets)
    return mf.loc[datasets], perf.loc[datasets], families


def grouped_folds(families: pd.Series, n_folds: int, seed: int) -> list[np.ndarray]:
    """Positions of each fold's held-out datasets; families shuffled by ``seed``, then dealt to
    the folds largest first, each to the fold with the fewest datasets so far."""
    rng = np.random.default_rng(seed)
    groups = families.groupby(families.to_numpy()).indices
    order = sorted(groups, key=lambda g: (-len(groups[g]), rng.random()))
    folds: list[list[int]] = [[] for _ in range(n_folds)]
    for g in order:
        min(folds, key=len).extend(int(i) for i in groups[g])
    return [np.sort(np.array(f, dtype=int)) for f in folds]


# -- the meta-learner ----------------------------------------------------------------------------
def _key_from(frame: pd.DataFrame, index: pd.Index, columns: pd.Index,
              order_column: str) -> np.ndarray:
    key = np.full((len(index), len(columns)), -np.inf)
    key[index.get_indexer(frame["dataset"]), columns.get_indexer(frame["configuration"])] = (
        -frame[order_column].to_numpy(dtype=float))
    return key


def evaluate_metalearner(kb: Any, seeds: list[int], n_folds: int) -> dict[str, Any]:
    from metarec.metalearner import MetaLearner, evaluation
    from metarec.metalearner.portfolio import greedy_cover, normalised_regret
    from metarec.recommend.learner_cache import LEARNER_SETTINGS

    mf, perf, families = campaign_evidence(kb)
    methods = ("meta-learner, diverse top-k", "static portfolio",
               "static portfolio, meta-learner order")
    per_seed: dict[str, list[pd.DataFrame]] = {m: [] for m in methods}
    cal: dict[str, list[pd.DataFrame]] = {"all cells": [], "top 5 (diverse)": []}
    algorithm = kb.configurations.set_index("configuration_id")["algorithm"]
    families_in_top: list[int] = []
    started = time.perf_counter()
    for seed in seeds:
        tables: dict[str, list[pd.DataFrame]] = {m: [] for m in methods}
        for f, held in enumerate(grouped_folds(families, n_folds, seed)):
            train = np.setdiff1d(np.arange(len(perf)), held)
            learner = MetaLearner(**LEARNER_SETTINGS, random_state=seed).fit(
                mf.iloc[train], perf.iloc[train], True)
            query, truth = mf.iloc[held], perf.iloc[held].to_numpy()
            regret = normalised_regret(perf.iloc[train].to_numpy())
            sbs = np.full(perf.shape[1], -np.inf)
            sbs[int(np.argmin(regret.mean(axis=0)))] = 0.0
            reference = np.tile(sbs, (len(held), 1))
            members = greedy_cover(regret, max(KS), fill=True)
            static = np.full(perf.shape[1], -np.inf)
            static[members] = -np.arange(len(members), dtype=float)
            top = learner.rank(query, top_k=max(KS), diverse=True)
            chosen = learner.candidate_set(query, k=max(KS))
            families_in_top += list(top.groupby("dataset")["configuration"].agg(
                lambda c: c.map(algorithm).nunique()))
            keys = {
                "meta-learner, diverse top-k": _key_from(top, query.index, perf.columns, "rank"),
                "static portfolio": np.tile(static, (len(held), 1)),
                "static portfolio, meta-learner order": _key_from(
                    chosen, query.index, perf.columns, "position"),
            }
            for method, key in keys.items():
                table = evaluation.per_dataset(truth, key, reference, ks=KS)
                tables[method].append(table.set_index(query.index))
            predicted = learner.predict(query).to_numpy()
            sd = learner.predict_uncertainty(query).to_numpy()
            cal["all cells"].append(cells(truth, predicted, sd))
            rows = query.index.get_indexer(top["dataset"])
            cols = perf.columns.get_indexer(top["configuration"])
            cal["top 5 (diverse)"].append(cells(truth[rows, cols], top["predicted"].to_numpy(),
                                                top["uncertainty"].to_numpy()))
            print(f"  seed {seed} fold {f + 1}/{n_folds} ({time.perf_counter() - started:.0f} s)"
                  f", {learner.candidate_.name}", flush=True)
        for method in methods:
            per_seed[method].append(pd.concat(tables[method]).sort_index())
    return {"per_seed": per_seed, "calibration": {k: pd.concat(v, ignore_index=True)
                                                  for k, v in cal.items()},
            "datasets": len(perf), "configurations": perf.shape[1],
            "families_in_top": np.bincount(families_in_top, minlength=6)[1:].tolist(),
            "families": int(families.nunique()), "seconds": time.perf_counter() - started}


def _gap_points(table: pd.DataFrame, k: int) -> pd.Series:
    """Per dataset, its share of the gap closed in points, weighted as the ratio of means is:
    (chosen - SBS) / mean(VBS - SBS) x 100, so that the mean over datasets is the gap closed."""
    gap = float((table["vbs"] - table["sbs"]).mean())
    return 100 * (table[f"chosen@{k}"] - table["sbs"]) / gap


def metalearner_markdown(result: dict[str, Any], command: str) -> str:
    from metarec.metalearner import evaluation

    per_seed = result["per_seed"]
    lines = ["## Regression: the meta-learner on the campaign's R² (`bench/bench_regression.py`)",
             "", f"{machine_line()}. Command: `{command}`. {result['datasets']} datasets x "
             f"{result['configurations']} configurations of the regression run campaign "
             f"({result['families']} dataset families); outer grouped {FOLDS}-fold split over "
             "datasets per seed (a family on one side); every figure from the held-out datasets "
             "only. "
             "gap closed@k: share of the single-best-to-oracle gap closed by the best of the "
             "first k (mean over seeds ± their standard deviation; the single best closes 0 at "
             "k = 1 by definition). R² below -1 counts as -1 (a diverged run; "
             "`metarec.kb.queries.R2_FLOOR`). Run time "
             f"{result['seconds'] / 60:.1f} min.", "",
             "| set | " + " | ".join(f"gap closed@{k}" for k in KS) + " |",
             "|---|" + "---:|" * len(KS)]
    for method, tables in per_seed.items():
        cells_ = []
        for k in KS:
            values = [evaluation.gap_closed(t, k) for t in tables]
            cells_.append(f"{np.mean(values):.3f} ± {np.std(values):.3f}")
        lines.append(f"| {method} | " + " | ".join(cells_) + " |")
    lines += ["", "| difference (gap-closed points) | " + " | ".join(f"k = {k}" for k in KS)
              + " |", "|---|" + "---:|" * len(KS)]
    pairs = [("meta-learner, diverse top-k", "static portfolio"),
             ("static portfolio, meta-learner order", "static portfolio")]
    for a, b in pairs:
        row = []
        for k in KS:
            diff = sum(_gap_points(ta, k) - _gap_points(tb, k)
                       for ta, tb in zip(per_seed[a], per_seed[b], strict=True)) / len(per_seed[a])
            low, high = bootstrap_ci(diff.dropna().to_numpy())
            row.append(f"{diff.mean():+.1f} [{low:+.1f}, {high:+.1f}]")
        lines.append(f"| {a} − {b} | " + " | ".join(row) + " |")
    counts = result["families_in_top"]
    lines += ["", "Algorithm families among the diverse top 5 `recommend` shows (held-out "
              "datasets, all seeds): " + ", ".join(f"{n} families: {c}" for n, c in
                                        enumerate(counts, start=1) if c) + "."]
    lines += ["", "Calibration of the predicted R² on held-out datasets (all seeds):", "",
              "| cells | n | coverage ±1 sd | coverage ±2 sd | median \\|error\\|/sd | mean sd | "
              "mean true - predicted |", "|---|---:|---:|---:|---:|---:|---:|"]
    for name, frame in result["calibration"].items():
        s = calibration(frame, True)
        lines.append(f"| {name} | {s['cells']} | {s['coverage ±1 sd']:.1%} | "
                     f"{s['coverage ±2 sd']:.1%} | {s['median |error|/sd']:.2f} | "
                     f"{s['mean sd']:.3f} | {s['mean true - predicted']:+.3f} |")
    return "\n".join(lines)


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
                    data = X if label.startswith(("metarec", "LightGBM", "Hist", "random")) \
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

    _, perf, families = campaign_evidence(kb)
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
    for row in versus(means, "metarec", TIE):
        decided = row["wins"] + row["losses"]
        share = row["wins"] / decided if decided else float("nan")
        lines.append(f"| {row['peer']} | {row['mean']:+.4f} | [{row['low']:+.4f}, "
                     f"{row['high']:+.4f}] | {row['wins']}/{row['ties']}/{row['losses']} | "
                     f"{share:.0%} |")
    worst = (means["metarec"] - means.drop(columns="metarec").max(axis=1)).sort_values()
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
            text = metalearner_markdown(evaluate_metalearner(kb, args.seeds, FOLDS), command)
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
