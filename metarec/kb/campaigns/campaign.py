"""A run campaign: a fixed portfolio of configurations cross-validated on every table of one task
in the shared data folder, written as a knowledge base of its own source.

:class:`Campaign` says what one campaign runs (its task, portfolio grids, metrics and where its
datasets are listed); the task modules (:mod:`~metarec.kb.campaigns.regression`,
:mod:`~metarec.kb.campaigns.classification`) each define one. Everything else is shared: the
selection of one copy of each table (:func:`select`), the seeded row cap (:func:`sample`), 5-fold
cross-validation (shuffled, seed 0) recording every metric and the mean time of one fit, the
meta-features by :func:`metafeatures.extract` (every group, so the knowledge base's profiles and
a user's are computed by the same code), and the provenance record (the manifest).

Where a campaign writes, under ``out``: ``kb/`` a knowledge base holding the one source
(datasets, configurations, runs, meta-features; the manifest says how they were made);
``selection.json`` the datasets chosen and those left out, with the reason; ``datasets.jsonl``
per finished dataset its sampling, time and failed configurations; ``failures.jsonl`` each
configuration that could not be fitted, and why.

It runs on :func:`metarec.kb.add.run_portfolio`, the machinery of ``metarec kb add``: every
result is kept as it arrives, so a campaign killed at any point resumes where it stopped when
the same command is run again, and several processes (or a Dask cluster) share the work.

One module past 550 lines on purpose: the selection, the run and the provenance record (the
manifest) are written from the same constants and change together when a campaign does; the task
modules hold only what differs.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import itertools
import json
import platform
import re
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from metarec.crossval import check_splittable
from metarec.errors import DataError, KnowledgeBaseError, MetaRecError
from metarec.files import append_jsonl, read_jsonl
from metarec.kb import engine, schema, store
from metarec.kb.add import commit, run_portfolio

MAX_ROWS = 5_000
SAMPLE_SEED = 0
FOLDS = 5
SELECTION_VERSION = 1
IMPUTERS = ("mean", "median", "constant", "knn", "iterative", "native")
# The families both tasks run, with the same grids (algorithm -> (fixed hyperparameters, grid)):
# each spans the setting that matters most for the family (neighbourhood, kernel width, tree
# size, learning rate) around the library default; the iteration limits keep one
# cross-validation within minutes at 5,000 rows.
SHARED_GRIDS: dict[str, tuple[dict[str, Any], dict[str, list[Any]]]] = {
    "k_nearest_neighbors": ({}, {"n_neighbors": [1, 3, 5, 7, 10, 15, 25, 50],
                                 "weights": ["uniform", "distance"], "p": [1, 2]}),
    "svm": ({"kernel": "rbf"}, {"C": [0.1, 1.0, 10.0, 100.0, 1000.0],
                                "gamma": ["scale", 0.01, 0.1, 1.0]}),
    "hist_gradient_boosting": ({"max_iter": 200}, {"learning_rate": [0.03, 0.1, 0.3],
                                                   "max_leaf_nodes": [7, 31, 127],
                                                   "min_samples_leaf": [5, 20]}),
    "lightgbm": ({}, {"n_estimators": [100, 400], "learning_rate": [0.03, 0.1],
                      "num_leaves": [8, 31, 127], "min_child_samples": [5, 20],
                      "colsample_bytree": [0.5, 1.0]}),
    "mlp": ({"max_iter": 500, "early_stopping": True},
            {"hidden_layer_sizes": [[64], [256], [64, 64], [128, 128]],
             "alpha": [1e-4, 1e-2, 1.0], "learning_rate_init": [1e-3, 1e-2]}),
}
# Their central configurations, run under every imputer where values are missing.
SHARED_ANCHORS: dict[str, dict[str, Any]] = {
    "k_nearest_neighbors": {"n_neighbors": 7, "weights": "distance", "p": 2},
    "svm": {"C": 10.0, "gamma": "scale"},
    "hist_gradient_boosting": {"learning_rate": 0.1, "max_leaf_nodes": 31, "min_samples_leaf": 20},
    "lightgbm": {"n_estimators": 100, "learning_rate": 0.1, "num_leaves": 31,
                 "min_child_samples": 20, "colsample_bytree": 1.0},
    "mlp": {"hidden_layer_sizes": [64, 64], "alpha": 1e-2, "learning_rate_init": 1e-3},
}

Log = Callable[[str], None]
# Scores of one cross-validation (scorer name -> mean) and the target -> recorded metric values.
MetricValues = Callable[[dict[str, float], pd.Series], dict[str, float]]


@dataclass(frozen=True)
class Campaign:
    """What one campaign runs; the rest of this module is the same for every campaign.

    ``grids``: algorithm -> (fixed hyperparameters, grid); ``anchors``: each algorithm's central
    configuration, run under every imputer where values are missing; ``scoring``: scorer name ->
    scikit-learn scorer (the first is the one a failure is judged by); ``metrics``: recorded
    metric -> higher is better, their values made by ``metric_values`` from the scores;
    ``pmlb_task`` / ``liac_folder``: where the data folder lists the task's tables."""

    task: str
    source: str
    module: str
    id_prefix: str
    grids: dict[str, tuple[dict[str, Any], dict[str, list[Any]]]]
    anchors: dict[str, dict[str, Any]]
    scoring: dict[str, str]
    metrics: dict[str, bool]
    metric_values: MetricValues
    pmlb_task: str
    liac_folder: str
    description: str

    @property
    def command(self) -> str:
        return f"python -m {self.module}"


def configuration_id(campaign: Campaign, spec: dict[str, Any]) -> str:
    digest = hashlib.sha1(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:10]
    return f"{campaign.id_prefix}-{spec['algorithm']}-{digest}"


def _spec(campaign: Campaign, algorithm: str, hyperparameters: dict[str, Any],
          imputer: str | None = None) -> dict:
    from metarec.pipelines import normalize_spec

    fixed = campaign.grids[algorithm][0]
    spec = {"task": campaign.task, "algorithm": algorithm,
            "hyperparameters": {**fixed, **hyperparameters}}
    if imputer is not None:
        spec["imputer"] = imputer
    return normalize_spec(spec)


def portfolio(campaign: Campaign, has_missing: bool = False) -> dict[str, dict]:
    """Configuration id -> normalised pipeline spec, algorithms taken in turn (any prefix spans
    the families); with ``has_missing`` also each anchor under every other imputer."""
    from metarec.pipelines import ALGORITHMS

    per_algorithm = []
    for algorithm, (_fixed, grid) in campaign.grids.items():
        names = list(grid)
        per_algorithm.append([_spec(campaign, algorithm, dict(zip(names, values, strict=True)))
                              for values in itertools.product(*(grid[n] for n in names))])
    specs = [s for row in itertools.zip_longest(*per_algorithm) for s in row if s is not None]
    if has_missing:
        for algorithm, hyperparameters in campaign.anchors.items():
            default = _spec(campaign, algorithm, hyperparameters)["imputer"]["name"]
            for imputer in IMPUTERS:
                if imputer == default or (imputer == "native"
                                          and not ALGORITHMS[algorithm].handles_missing):
                    continue
                specs.append(_spec(campaign, algorithm, hyperparameters, imputer))
    return {configuration_id(campaign, s): s for s in specs}


# -- which datasets ---------------------------------------------------------------------------
@dataclass
class Candidate:
    name: str
    origin: str  # pmlb | liac
    path: str  # relative to the data root
    target: str | None  # None: the last column
    openml_did: int | None
    id_mapping: str

    @property
    def dataset_id(self) -> str:
        return (f"openml-{self.openml_did}" if self.openml_did is not None
                else f"name-{self.origin}-{self.name}")


def _name_key(name: str) -> str:
    # "195_auto_price" (PMLB: OpenML id prefix), "auto.price", "autoPrice_(2)" -> "autoprice".
    name = re.sub(r"^\d+_", "", name)
    name = re.sub(r"_?\(\d+\)$", "", name)
    return re.sub(r"[^0-9a-z]", "", name.lower())


def candidates(campaign: Campaign, root: Path) -> list[Candidate]:
    """Every dataset of the campaign's task the data folder lists: PMLB's (INDEX.csv task),
    then LIAC's folder of the task (those INDEX.csv says parse)."""
    found: list[Candidate] = []
    pmlb = root / "datasets" / "pmlb" / "INDEX.csv"
    if pmlb.is_file():
        for row in csv.DictReader(pmlb.open(encoding="utf-8")):
            if row["task"] != campaign.pmlb_task:
                continue
            did = int(float(row["openml_did"])) if row.get("openml_did") else None
            found.append(Candidate(
                row["name"], "pmlb", f"datasets/pmlb/datasets/{row['name']}/{row['name']}.tsv.gz",
                row.get("target_col") or "target", did,
                f"OpenML id from PMLB's index ({row.get('did_from') or 'unknown'})" if did
                else "PMLB name, no OpenML id known"))
    liac = root / "datasets" / "liac_arff" / "INDEX.csv"
    if liac.is_file():
        for row in csv.DictReader(liac.open(encoding="utf-8")):
            folder = f"{campaign.liac_folder}/"
            if row["path"].startswith(folder) and row["parse_ok"] == "True":
                name = row["path"].removeprefix(folder).removesuffix(".arff.gz")
                found.append(Candidate(name, "liac", f"datasets/liac_arff/{row['path']}", None,
                                       None, "LIAC file name, no OpenML id known"))
    return found


def _read(root: Path, candidate: Candidate) -> Any:
    """The dataset as metarec reads a user's table (the task inferred, repairs made leniently)."""
    from metarec.io import load_dataset

    return load_dataset(root / candidate.path, candidate.target, lenient=True)


def _fingerprint(dataset: Any) -> str:
    if dataset.task == "regression":
        values = np.round(np.sort(dataset.y.to_numpy(dtype=float)), 6).tobytes()
    else:  # the class sizes: labels are renamed between copies more often than counted anew
        values = np.sort(dataset.y.value_counts().to_numpy()).tobytes()
    return hashlib.sha1(values + str(dataset.X.shape).encode()).hexdigest()[:16]


def select(campaign: Campaign, root: Path, log: Log | None = None) -> dict[str, list[dict]]:
    """The datasets to run, one copy of each table, and those left out with the reason.

    Left out: a second copy of a table (the same name once OpenML's id prefix and version
    suffixes are stripped, or the same shape and the same sorted target values, or class
    sizes; PMLB's copy is kept, it is cleaned and carries the OpenML id); a table metarec cannot
    read or reads as the other task (e.g. a regression target of whole numbers with at most 20
    distinct values, which ``metarec recommend`` treats as classes)."""
    log = log or (lambda _m: None)
    kept: list[dict] = []
    dropped: list[dict] = []
    by_name: dict[str, str] = {}
    by_content: dict[str, str] = {}
    by_id: dict[str, str] = {}
    for candidate in candidates(campaign, root):
        where = f"{candidate.origin}/{candidate.name}"
        key = _name_key(candidate.name)

        def drop(reason: str, candidate: Candidate = candidate) -> None:
            dropped.append({**asdict(candidate), "reason": reason})

        if key in by_name:
            drop(f"same table as {by_name[key]} (same name)")
            continue
        if candidate.dataset_id in by_id:
            drop(f"same table as {by_id[candidate.dataset_id]} (same OpenML id)")
            continue
        log(f"reading {where}")
        try:
            dataset = _read(root, candidate)
        except (MetaRecError, OSError) as exc:
            drop(f"not read: {exc}")
            continue
        if dataset.task != campaign.task:
            drop(f"metarec reads it as a {dataset.task} table ({dataset.y.nunique()} distinct "
                 "target values)")
            continue
        try:
            check_splittable(dataset.y, campaign.task)
        except DataError as exc:
            drop(f"cannot be cross-validated: {exc}")
            continue
        fingerprint = _fingerprint(dataset)
        if fingerprint in by_content:
            drop(f"same table as {by_content[fingerprint]} (same shape and target values)")
            continue
        by_name[key] = by_content[fingerprint] = by_id[candidate.dataset_id] = where
        kept.append({**asdict(candidate), "dataset_id": candidate.dataset_id,
                     "rows": len(dataset.y), "features": dataset.X.shape[1],
                     "has_missing": bool(dataset.X.isna().any().any()),
                     "fingerprint": fingerprint, "notes": dataset.notes})
    return {"kept": kept, "dropped": dropped}


def load_selection(campaign: Campaign, out: Path, root: Path,
                   log: Log | None = None) -> dict[str, Any]:
    """``out``/selection.json, made by :func:`select` on the first run and reused after, so a
    resumed campaign runs the same datasets."""
    from metarec.files import atomic_write_text

    path = out / "selection.json"
    if path.is_file():
        return json.loads(path.read_text(encoding="utf-8"))
    chosen = select(campaign, root, log)
    selection = {"version": SELECTION_VERSION, "data_root": str(root), **chosen}
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, json.dumps(selection, indent=1) + "\n")
    return selection


def sample(X: pd.DataFrame, y: pd.Series, max_rows: int, seed: int = SAMPLE_SEED,
           task: str = "regression") -> tuple[pd.DataFrame, pd.Series]:
    """At most ``max_rows`` rows, drawn without replacement (seeded), in their original order.

    For classification, a class the draw leaves a single row gets a second one (drawn from its
    other rows by the same generator), so a rare class does not make the sample impossible to
    cross-validate where the table is not (e.g. shuttle: 58,000 rows, a class of 13); a draw
    with no such class is the plain draw, as campaigns before this rule drew it."""
    if len(y) <= max_rows:
        return X, y
    rng = np.random.default_rng(seed)
    rows = rng.choice(len(y), size=max_rows, replace=False)
    if task == "classification":
        labels = np.asarray(y)
        drawn = pd.Series(labels[rows]).value_counts()
        single = drawn.index[drawn.to_numpy() == 1]
        if len(single):
            rest = rng.permutation(np.setdiff1d(np.arange(len(y)), rows))
            for label in single:
                rows = np.concatenate([rows, rest[labels[rest] == label][:1]])
    rows = np.sort(rows)
    return X.iloc[rows], y.iloc[rows]


# -- running ----------------------------------------------------------------------------------
def _manifest(campaign: Campaign, current: store.KnowledgeBase | None,
              tables: dict[str, pd.DataFrame], details: dict[str, Any]) -> dict[str, Any]:
    from metarec import __version__

    manifest = dict(current.manifest) if current is not None else {
        "format": store.FORMAT, "kb_version": schema.KB_VERSION,
        "built_with": {"metarec": __version__,
                       "command": campaign.command}}
    runs = tables["runs"]
    manifest["build_date"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    manifest["sources"] = {campaign.source: {
        "provenance_file": None,
        "provenance": (
            f"metarec's {campaign.task} run campaign ({campaign.module}): "
            f"{details['folds']}-fold cross-validation (shuffled, seed 0) of a fixed portfolio "
            f"of {campaign.task} pipelines on PMLB and LIAC {campaign.task} datasets (one copy "
            "of each table; selection.json beside this folder), at most "
            f"{details['max_rows']:,} rows each (seeded sample, seed {SAMPLE_SEED}); "
            f"{campaign.description}, runtime_s the mean time of one fit on "
            f"{details['folds'] - 1}/{details['folds']} of the rows; meta-features by "
            "metafeatures.extract, all groups."),
        "details": details,
        "datasets": int(runs["dataset_id"].nunique()),
        "configurations": int(len(tables["configurations"])),
        "runs": int(len(runs)),
    }}
    manifest["figures"] = {"datasets": int(runs["dataset_id"].nunique()),
                           "configurations": int(len(tables["configurations"])),
                           "runs": int(len(runs))}
    return manifest


def _runs(campaign: Campaign, dataset_id: str, results: list[dict],
          y: pd.Series) -> pd.DataFrame:
    rows = []
    for r in results:
        if r["error"] or not np.isfinite(r["value"]):
            continue
        values = campaign.metric_values(r["scores"], y)
        rows += [{"dataset_id": dataset_id, "openml_task_id": pd.NA,
                  "configuration_id": r["configuration_id"], "metric": metric,
                  "value": values[metric], "higher_is_better": higher,
                  "runtime_s": r["fit_time_s"], "source": campaign.source,
                  "openml_run_id": pd.NA}
                 for metric, higher in campaign.metrics.items()]
    return pd.DataFrame(rows, columns=list(schema.TABLES["runs"]))


def _configurations(campaign: Campaign, specs: dict[str, dict]) -> pd.DataFrame:
    return pd.DataFrame([{
        "configuration_id": cid, "source": campaign.source, "task_type": campaign.task,
        "algorithm": spec["algorithm"], "imputer": spec["imputer"]["name"],
        "hyperparameters": json.dumps(spec["hyperparameters"], sort_keys=True),
        "original": json.dumps(spec, sort_keys=True), "translation": "",
        "spec": json.dumps(spec, sort_keys=True),
    } for cid, spec in specs.items()], columns=list(schema.TABLES["configurations"]))


def _finished(kb_dir: Path, out: Path) -> dict[str, set[str]]:
    """Per dataset, the configurations with a result: a run in the KB or a recorded failure."""
    done: dict[str, set[str]] = {}
    if (kb_dir / schema.MANIFEST).exists():
        runs = store.load(kb_dir).runs
        for dataset_id, group in runs.groupby("dataset_id"):
            done[str(dataset_id)] = set(group["configuration_id"])
    for failure in read_jsonl(out / "failures.jsonl"):
        done.setdefault(failure["dataset_id"], set()).add(failure["configuration_id"])
    return done


def run(
    campaign: Campaign,
    out: str | Path,
    data_root: str | Path,
    *,
    datasets: int | None = None,
    configurations: int | None = None,
    folds: int = FOLDS,
    max_rows: int = MAX_ROWS,
    n_jobs: int = 1,
    backend: str | None = None,
    scheduler: str | None = None,
    smallest_first: bool = False,
    log: Log | None = None,
) -> dict[str, Any]:
    """Run the campaign into ``out`` (resuming what an earlier run left); return its figures.

    ``datasets``: only the first so many of the selection (in the order run);
    ``configurations``: only the first so many of the portfolio (algorithms in turn), for a
    trial. ``n_jobs``, ``backend``,
    ``scheduler``: where the cross-validations run (:func:`metarec.kb.engine.parallel`).
    ``smallest_first``: run the datasets in order of rows used x features, so that a campaign
    stopped early has covered as many datasets as its time allowed."""
    import metafeatures

    out, root = Path(out), Path(data_root)
    log = log or (lambda _m: None)
    if not (out / "selection.json").is_file() and not (root / "datasets").is_dir():
        raise KnowledgeBaseError(
            f"{root} has no datasets/ folder; point `data_root` at the shared data folder "
            "(../shared/data).", parameters=("data_root",))
    selection = load_selection(campaign, out, root, log)
    root = Path(selection["data_root"]) if not (root / "datasets").is_dir() else root
    chosen = selection["kept"]
    if smallest_first:
        chosen = sorted(chosen, key=lambda e: (min(e["rows"], max_rows) * e["features"],
                                               e["dataset_id"]))
    chosen = chosen[:datasets] if datasets is not None else chosen
    kb_dir = out / "kb"
    details = {"folds": folds, "max_rows": max_rows, "sample_seed": SAMPLE_SEED,
               "python": platform.python_version(), "versions": _versions()}
    figures = {"datasets": len(chosen), "finished": 0, "ran_now": 0, "failed_now": 0,
               "skipped": 0}
    with engine.parallel(backend, n_jobs, scheduler) as workers:
        for position, entry in enumerate(chosen, 1):
            candidate = Candidate(**{k: entry[k] for k in Candidate.__dataclass_fields__})
            dataset_id = entry["dataset_id"]
            specs = portfolio(campaign, entry["has_missing"])
            if configurations is not None:
                specs = dict(list(specs.items())[:configurations])
            done = _finished(kb_dir, out).get(dataset_id, set())
            todo = {c: s for c, s in specs.items() if c not in done}
            if not todo:
                figures["finished"] += 1
                continue
            started = time.perf_counter()
            try:
                dataset = _read(root, candidate)
            except DataError as exc:  # the data folder changed since the selection
                log(f"[{position}/{len(chosen)}] {candidate.name}: left out ({exc})")
                figures["skipped"] += 1
                continue
            X, y = sample(dataset.X, dataset.y, max_rows, task=campaign.task)
            try:  # the one rule for learning from a table; sample() keeps classes to it
                check_splittable(y, campaign.task)
            except DataError as exc:
                log(f"[{position}/{len(chosen)}] {candidate.name}: left out ({exc})")
                figures["skipped"] += 1
                continue
            log(f"[{position}/{len(chosen)}] {candidate.origin}/{candidate.name}: {len(y):,} of "
                f"{len(dataset.y):,} rows, {X.shape[1]} features, {len(todo)} configurations")
            results, ran = run_portfolio(
                kb_dir, dataset_id, todo, X, y, campaign.task, folds=folds, n_jobs=workers,
                progress=_every(10, lambda d, t, n=candidate.name: log(f"  {n}: {d}/{t}")),
                scoring=campaign.scoring)
            values = metafeatures.extract(X, y, task=campaign.task, random_state=0)
            new_runs = _runs(campaign, dataset_id, results, y)
            row = pd.DataFrame([{
                "dataset_id": dataset_id, "name": candidate.name, "source": campaign.source,
                "openml_did": candidate.openml_did, "openml_task_id": pd.NA,
                "task_type": campaign.task, "n_instances": len(y), "n_features": X.shape[1] + 1,
                "n_classes": (int(y.nunique()) if campaign.task == "classification" else pd.NA),
                "has_missing": bool(X.isna().any().any()),
                "id_mapping": candidate.id_mapping}])
            mf = pd.DataFrame({"dataset_id": dataset_id, "quality": values.index.astype(str),
                               "value": values.to_numpy(dtype=float), "origin": "local",
                               "source": campaign.source}).dropna(subset=["value"])

            def update(current: store.KnowledgeBase | None, row: pd.DataFrame = row,
                       mf: pd.DataFrame = mf, new_runs: pd.DataFrame = new_runs,
                       dataset_id: str = dataset_id, specs: dict = specs) -> tuple[dict, dict]:
                base = ({name: getattr(current, name) for name in schema.TABLES}
                        if current is not None
                        else {name: schema.empty(name) for name in schema.TABLES})
                others = {name: frame[frame["dataset_id"] != dataset_id]
                          for name, frame in base.items() if name != "configurations"}
                known = set(base["configurations"]["configuration_id"])
                configs = _configurations(campaign,
                                          {c: s for c, s in specs.items() if c not in known})
                earlier = base["runs"][base["runs"]["dataset_id"] == dataset_id]
                tables = {
                    "datasets": pd.concat([others["datasets"], schema.conform("datasets", row)]),
                    "metafeatures": pd.concat([others["metafeatures"],
                                               schema.conform("metafeatures", mf)]),
                    "configurations": pd.concat([base["configurations"],
                                                 schema.conform("configurations", configs)]),
                    "runs": pd.concat([others["runs"], earlier,
                                       schema.conform("runs", new_runs)]),
                }
                tables = {name: schema.sort(name, schema.conform(name, frame))
                          for name, frame in tables.items()}
                return tables, _manifest(campaign, current, tables, details)

            failures = [{"dataset_id": dataset_id, "configuration_id": r["configuration_id"],
                         "error": r["error"]} for r in results if r["error"]]
            # Failures first: a kill between the two writes then reruns nothing twice.
            append_jsonl(out / "failures.jsonl", failures)
            commit(kb_dir, dataset_id, update)
            append_jsonl(out / "datasets.jsonl", [{
                "dataset_id": dataset_id, "name": candidate.name, "origin": candidate.origin,
                "rows_in_file": len(dataset.y), "rows_used": len(y),
                "sample_seed": SAMPLE_SEED if len(y) < len(dataset.y) else None,
                "features": X.shape[1], "configurations": len(results), "ran_now": ran,
                "failed": len(failures), "cv_seconds": round(sum(r["runtime_s"]
                                                                 for r in results), 2),
                "wall_seconds": round(time.perf_counter() - started, 2),
                "finished_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "notes": dataset.notes}])
            figures["finished"] += 1
            figures["ran_now"] += ran
            figures["failed_now"] += len(failures)
            log(f"  {candidate.name}: done, {ran} run now, {len(failures)} failed, "
                f"{time.perf_counter() - started:.0f} s")
    return figures


def _every(step: int, call: Callable[[int, int], None]) -> Callable[[int, int], None]:
    said = {0}

    def progress(done: int, total: int) -> None:
        if done not in said and (done % step == 0 or done == total):
            said.add(done)
            call(done, total)
    return progress


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    found = {}
    for package in ("metarec", "scikit-learn", "lightgbm", "numpy", "pandas", "joblib",
                    "distributed"):
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            continue
    return found


def _default_data_root() -> Path:
    # A source checkout sits beside the shared data folder (../shared/data).
    return Path(__file__).resolve().parents[3].parent / "shared" / "data"


def main(campaign: Campaign, argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog=campaign.command,
        description=f"Run (or resume) the {campaign.task} run campaign into OUT.")
    parser.add_argument("--out", required=True, type=Path, help="campaign folder (resumable)")
    parser.add_argument("--data", type=Path, default=_default_data_root(),
                        help="the shared data folder (default: ../shared/data of the checkout)")
    parser.add_argument("--datasets", type=int,
                        help="only the first N selected datasets (in the order run)")
    parser.add_argument("--configurations", type=int,
                        help="only the first N configurations (a trial)")
    parser.add_argument("--folds", type=int, default=FOLDS)
    parser.add_argument("--max-rows", type=int, default=MAX_ROWS)
    parser.add_argument("--n-jobs", type=int, default=1,
                        help="workers (with --backend dask: of the local cluster)")
    parser.add_argument("--smallest-first", action="store_true",
                        help="run the smallest datasets (rows x features) first")
    parser.add_argument("--backend", help="joblib backend: loky (default), dask or ray")
    parser.add_argument("--scheduler", metavar="ADDRESS",
                        help="an existing Dask cluster's scheduler (implies --backend dask)")
    args = parser.parse_args(argv)

    def log(message: str) -> None:
        print(f"{time.strftime('%H:%M:%S')} {message}", file=sys.stderr, flush=True)

    try:
        figures = run(campaign, args.out, args.data, datasets=args.datasets,
                      configurations=args.configurations, folds=args.folds,
                      max_rows=args.max_rows, n_jobs=args.n_jobs, backend=args.backend,
                      scheduler=args.scheduler, smallest_first=args.smallest_first,
                      log=log)
    except MetaRecError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; run the same command again to resume.", file=sys.stderr)
        return 130
    print(json.dumps(figures))
    return 0

