"""Add a user's dataset to a (user) knowledge base by running a configuration portfolio on it.

The portfolio is chosen greedily from the knowledge base: each step adds the configuration that
most raises the summed best normalised score over the KB's datasets of the same task type, so a
few configurations cover most datasets' best choices (Wistuba et al.'s greedy portfolio; the loop
is the meta-learner's, :func:`metarec.metalearner.portfolio.greedy_cover`). Each
configuration is cross-validated on the user's data; the work is spread with joblib, so the same
code runs on a Dask or Ray cluster through joblib's backend (:mod:`metarec.kb.engine`), e.g.::

    metarec kb add data.csv --target y --backend dask --n-jobs 4   # a local cluster, 4 workers
    metarec kb add data.csv --target y --scheduler tcp://10.0.0.5:8786   # an existing cluster

Every finished configuration is appended at once to a progress file inside the knowledge-base
folder, so an interrupted run resumes where it stopped; processes adding the same dataset at the
same time claim configurations one by one (:mod:`metarec.kb.claims`), so each is run once. The
knowledge base itself is written only at the end, atomically and under its lock, and the shipped
knowledge base is never modified.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from metarec.errors import KnowledgeBaseError
from metarec.files import append_jsonl, read_jsonl
from metarec.kb import engine, schema, store
from metarec.kb.claims import Claims
from metarec.kb.refresh import check_target, user_kb_path
from metarec.metalearner.portfolio import greedy_cover

SOURCE = "user"
METRIC = {"classification": "balanced_accuracy", "regression": "r2"}
Progress = Callable[[int, int], None]
# How often a process whose remaining configurations other processes hold looks again.
WAIT_FOR_OTHERS_S = 0.5


def normalised_scores(kb: store.KnowledgeBase, task_type: str) -> pd.DataFrame:
    """Datasets x configurations, 1 = best and 0 = worst run on that dataset and metric."""
    configs = kb.configurations[kb.configurations["task_type"] == task_type]
    runs = kb.runs[kb.runs["configuration_id"].isin(configs["configuration_id"])]
    runs = runs.dropna(subset=["value"])
    if runs.empty:
        return pd.DataFrame()
    signed = np.where(runs["higher_is_better"], runs["value"], -runs["value"])
    runs = runs.assign(signed=signed)
    keys = ["dataset_id", "metric"]
    grouped = runs.groupby(keys)["signed"]
    low, high = grouped.transform("min"), grouped.transform("max")
    spread = (high - low).replace(0, np.nan)
    runs = runs.assign(score=((runs["signed"] - low) / spread).fillna(1.0))
    return runs.pivot_table(index="dataset_id", columns="configuration_id", values="score",
                            aggfunc="mean")


def greedy_portfolio(scores: pd.DataFrame, size: int, min_datasets: int = 10) -> list[str]:
    """Pick ``size`` configurations that together score best on the most datasets.

    The loop and its objective are the meta-learner's (:func:`greedy_cover`: the mean over
    datasets of the portfolio's best regret, here 1 - the normalised score), with two
    differences that have reasons. The scores are normalised per dataset and metric over all the
    KB's runs (:func:`normalised_scores`; a configuration not run counts as the worst), not
    renormalised over the candidates, because the runs mix metrics and dropping thinly-run
    configurations must not inflate the others. And the portfolio is filled to ``size``:
    ``--portfolio-size`` is how many runs the user asked for, and each one is evidence about the
    new dataset even once the KB's datasets are covered.
    """
    counts = scores.notna().sum()
    candidates = scores.loc[:, counts[counts >= min_datasets].index]
    candidates = candidates.reindex(sorted(candidates.columns), axis=1).fillna(0.0)
    chosen = greedy_cover(1.0 - candidates.to_numpy(), size, fill=True)
    return [str(candidates.columns[i]) for i in chosen]  # ties -> the smallest configuration id


def _evaluate(config_id: str, spec: dict, X: pd.DataFrame, y: pd.Series, task: str,
              folds: int, scoring: dict[str, str] | None = None) -> dict[str, Any]:
    """Cross-validate one configuration (runs in a joblib worker).

    ``scoring``: name -> scikit-learn scorer, the first the one whose mean is ``value`` (default:
    :data:`METRIC` of ``task``); every mean is in ``scores``, the mean time of one fit in
    ``fit_time_s`` and the whole cross-validation's time in ``runtime_s``."""
    import warnings

    import joblib
    from sklearn.model_selection import cross_validate

    from metarec import pipelines
    from metarec.crossval import check_cv

    scoring = scoring or {METRIC[task]: METRIC[task]}
    splitter = check_cv(folds, y, task, random_state=0)
    started = time.perf_counter()
    scores: dict[str, float] = {}
    fit_time = float("nan")
    try:
        # One configuration per worker, its folds one after another: a Dask worker would
        # otherwise hand each fold back to the cluster as a task of its own.
        with warnings.catch_warnings(), joblib.parallel_config(backend="sequential"):
            warnings.simplefilter("ignore")
            result = cross_validate(pipelines.build(spec), X, y, cv=splitter,
                                    scoring=dict(scoring), error_score="raise")
        scores = {name: float(np.mean(result[f"test_{name}"])) for name in scoring}
        value, error = scores[next(iter(scoring))], ""
        fit_time = float(np.mean(result["fit_time"]))
    except Exception as exc:  # a configuration that cannot fit this data is a result too
        value, error = float("nan"), f"{type(exc).__name__}: {exc}"[:300]
    return {"configuration_id": config_id, "value": value, "error": error,
            "runtime_s": time.perf_counter() - started, "scores": scores,
            "fit_time_s": fit_time}


def progress_file(target: Path, dataset_id: str) -> Path:
    """The resume file: every finished configuration, one JSON line each, inside the KB folder
    (a write of the KB carries it over; read and append it under the KB's lock)."""
    return target / f".add-{dataset_id}.jsonl"


def _results(claims: Claims, path: Path) -> dict[str, dict]:
    with claims.kb_lock:
        return _done(path)


def _claim(claims: Claims, path: Path, configuration_id: str, done: dict[str, dict]) -> bool:
    """Claim ``configuration_id`` for this process unless another process holds or finished it."""
    if not claims.claim(configuration_id):
        return False
    # Another process may have finished it, and let it go, since this one read the results.
    done.update(_results(claims, path))
    if configuration_id in done:
        claims.release(configuration_id)
        return False
    return True


def _done(path: Path) -> dict[str, dict]:
    # a line cut short by an interruption is skipped: that configuration runs again
    return {record["configuration_id"]: record for record in read_jsonl(path)}


def run_portfolio(
    target: Path,
    dataset_id: str,
    specs: Mapping[str, dict],
    X: pd.DataFrame,
    y: pd.Series,
    task: str,
    *,
    folds: int = 5,
    n_jobs: int = 1,
    backend: str | None = None,
    scheduler: str | None = None,
    progress: Progress | None = None,
    scoring: dict[str, str] | None = None,
) -> tuple[list[dict], int]:
    """Cross-validate every configuration of ``specs`` (id -> pipeline spec) on ``(X, y)``.

    Resumable and shared: each result is appended at once to :func:`progress_file` in
    ``target``, a rerun skips what is there, and processes running the same ``dataset_id`` at
    once claim configurations one by one (:mod:`metarec.kb.claims`). Returns the results in the
    order of ``specs`` and how many this call ran; :func:`commit` writes them. ``n_jobs``,
    ``backend``, ``scheduler``: :func:`metarec.kb.engine.parallel`; ``scoring``: as
    :func:`_evaluate` takes it."""
    import joblib

    portfolio = list(specs)
    work = progress_file(target, dataset_id)
    target.mkdir(parents=True, exist_ok=True)
    progress = progress or (lambda _d, _t: None)
    evaluated = 0
    with engine.parallel(backend, n_jobs, scheduler) as workers, \
            Claims(target, dataset_id) as claims:
        done = _results(claims, work)
        while True:
            todo = [c for c in portfolio if c not in done]
            progress(len(portfolio) - len(todo), len(portfolio))
            if not todo:
                break
            jobs = (joblib.delayed(_evaluate)(c, specs[c], X, y, task, folds, scoring)
                    for c in todo if _claim(claims, work, c, done))
            ran = 0
            for record in joblib.Parallel(n_jobs=workers, return_as="generator_unordered")(jobs):
                with claims.kb_lock:
                    append_jsonl(work, [record])
                claims.release(record["configuration_id"])
                done[record["configuration_id"]] = record
                ran += 1
                progress(sum(c in done for c in portfolio), len(portfolio))
            evaluated += ran
            if not ran:
                # Other processes hold what is left: wait for their results, or for a dead
                # process's claims to fall free.
                time.sleep(WAIT_FOR_OTHERS_S)
            done = {**_results(claims, work), **done}
    return [done[c] for c in portfolio], evaluated


def commit(target: Path, dataset_id: str,
           update: Callable[[store.KnowledgeBase | None], tuple[dict, dict]]) -> None:
    """Write the tables and manifest ``update`` makes of the knowledge base at ``target`` (None
    while there is none), atomically and under its lock, once :func:`run_portfolio` has every
    result of ``dataset_id``."""
    with store.lock_for(target):
        current = store.load(target) if (target / schema.MANIFEST).exists() else None
        tables, manifest = update(current)
        store.write(tables, manifest, target, acquire_lock=False)
        # Every process running the dataset writes the same runs; the last one tidies up (the
        # others may yet need the resume file for the results they did not run).
        claims = Claims(target, dataset_id)
        if claims.idle():
            progress_file(target, dataset_id).unlink(missing_ok=True)
            claims.remove()


def add_dataset(
    data: str | Path,
    target_column: str | None,
    kb_path: Path | None = None,
    portfolio_size: int = 16,
    folds: int = 5,
    n_jobs: int = 1,
    backend: str | None = None,
    min_datasets: int = 10,
    progress: Progress | None = None,
    *,
    scheduler: str | None = None,
    strict: bool = False,
    lenient: bool = False,
    encoding: str = "utf-8",
    sep: str | None = None,
) -> dict[str, Any]:
    """Run the portfolio on ``data`` and add its runs and meta-features to the user KB.

    ``n_jobs``, ``backend``, ``scheduler``: where the cross-validations run
    (:func:`metarec.kb.engine.parallel`; ``backend='dask'`` starts a local Dask cluster of
    ``n_jobs`` workers unless a Client is current or ``scheduler`` names a running one).
    ``strict``, ``lenient``, ``encoding``, ``sep``: how ``data`` is read and repaired, as in
    :func:`metarec.io.load_dataset`."""
    import metafeatures
    from metarec.crossval import check_splittable
    from metarec.io import load_dataset

    target = Path(kb_path) if kb_path is not None else user_kb_path()
    check_target(target, "kb_path")
    path = Path(data)
    dataset = load_dataset(path, target_column, strict=strict, lenient=lenient,
                           encoding=encoding, sep=sep)
    # The rule of recommend and tune; like tune, fewer rows than ``folds`` asks for get fewer
    # folds (metarec.crossval.check_cv) rather than a refusal.
    check_splittable(dataset.y, dataset.task)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    dataset_id = f"user-{digest}"
    base = store.load(target if (target / schema.MANIFEST).exists() else None)
    scores = normalised_scores(base, dataset.task)
    portfolio = greedy_portfolio(scores, portfolio_size, min_datasets)
    if not portfolio:
        raise KnowledgeBaseError(
            f"the knowledge base has no {dataset.task} configurations run on at least "
            f"{min_datasets} datasets to choose a portfolio from."
        )
    specs = base.configurations.set_index("configuration_id")["spec"]
    results, evaluated = run_portfolio(
        target, dataset_id, {c: json.loads(specs[c]) for c in portfolio}, dataset.X, dataset.y,
        dataset.task, folds=folds, n_jobs=n_jobs, backend=backend, scheduler=scheduler,
        progress=progress)
    values = metafeatures.extract(dataset.X, dataset.y, task=dataset.task, random_state=0)

    def update(current: store.KnowledgeBase | None) -> tuple[dict, dict]:
        current = current if current is not None else store.load()
        tables = _merge(current, dataset, dataset_id, path, values, results)
        manifest = dict(current.manifest)
        user_runs = tables["runs"][tables["runs"]["source"] == SOURCE]
        manifest["sources"] = {**manifest.get("sources", {}), SOURCE: {
            "provenance_file": None,
            "provenance": "datasets added by `metarec kb add`: greedy portfolio from the KB, "
                          f"{folds}-fold cross-validation on the user's data",
            "datasets": int(user_runs["dataset_id"].nunique()),
            "configurations": 0,
            "runs": int(len(user_runs)),
        }}
        manifest["figures"] = {"datasets": int(tables["runs"]["dataset_id"].nunique()),
                               "configurations": int(len(tables["configurations"])),
                               "runs": int(len(tables["runs"]))}
        return tables, manifest

    commit(target, dataset_id, update)
    best = max((r for r in results if np.isfinite(r["value"])), key=lambda r: r["value"],
               default=None)
    return {"target": str(target), "dataset_id": dataset_id, "task": dataset.task,
            "metric": METRIC[dataset.task], "portfolio": len(portfolio),
            "evaluated_now": evaluated, "failed": sum(1 for r in results if r["error"]),
            "best": best, "notes": dataset.notes}


def _merge(base: store.KnowledgeBase, dataset: Any, dataset_id: str, path: Path,
           values: pd.Series, results: list[dict]) -> dict[str, pd.DataFrame]:
    X, y = dataset.X, dataset.y
    row = pd.DataFrame([{
        "dataset_id": dataset_id, "name": path.name, "source": SOURCE, "openml_did": pd.NA,
        "openml_task_id": pd.NA, "task_type": dataset.task, "n_instances": len(y),
        "n_features": X.shape[1] + 1,  # OpenML's convention: the target counts
        "n_classes": int(y.nunique()) if dataset.task == "classification" else pd.NA,
        "has_missing": bool(X.isna().any().any()), "id_mapping": "added by the user",
    }])
    mf = pd.DataFrame({"dataset_id": dataset_id, "quality": values.index.astype(str),
                       "value": values.to_numpy(dtype=float), "origin": "local",
                       "source": SOURCE}).dropna(subset=["value"])
    runs = pd.DataFrame([{
        "dataset_id": dataset_id, "openml_task_id": pd.NA,
        "configuration_id": r["configuration_id"], "metric": METRIC[dataset.task],
        "value": r["value"], "higher_is_better": True, "runtime_s": r["runtime_s"],
        "source": SOURCE, "openml_run_id": pd.NA,
    } for r in results if np.isfinite(r["value"])], columns=list(schema.TABLES["runs"]))

    def keep(frame: pd.DataFrame) -> pd.DataFrame:  # adding the same file again replaces it
        return frame[frame["dataset_id"] != dataset_id]

    tables = {
        "datasets": pd.concat([keep(base.datasets), schema.conform("datasets", row)]),
        "metafeatures": pd.concat([keep(base.metafeatures), schema.conform("metafeatures", mf)]),
        "configurations": base.configurations,
        "runs": pd.concat([keep(base.runs), schema.conform("runs", runs)]),
    }
    return {name: schema.sort(name, schema.conform(name, frame)) for name, frame in tables.items()}
