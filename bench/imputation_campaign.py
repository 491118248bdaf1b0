"""Run campaign for imputer selection: every imputer x a few strong estimators, cross-validated.

Datasets: (a) every parseable dataset of ``../shared/data/datasets`` (liac_arff, openml_arff) with
natural missing values in its features; (b) complete PMLB / OpenML datasets with missing values
injected by :func:`metarec.imputation.injection.inject` (MCAR, MAR, MNAR at 5-40%, seeded,
recorded).
Rows are subsampled (stratified, seeded) to ``--max-rows`` and features to ``--max-features`` so
that the campaign fits a small CPU budget; both are recorded per dataset.

Every dataset gets one set of folds (stratified K-fold for classification, K-fold for regression)
shared by all its pipelines; classification is scored by balanced accuracy, regression by R2.

Resumable: each finished dataset is one JSON file in ``--work`` (written atomically); a rerun skips
those. ``--consolidate`` turns the parts into the tables in ``knowledge_base/imputation/``::

    nice -n 5 .venv/bin/python -m bench.imputation_campaign --part natural
    nice -n 5 .venv/bin/python -m bench.imputation_campaign --part injected --origins 30
    .venv/bin/python -m bench.imputation_campaign --consolidate

``--drop-withdrawn`` removes, from every table in ``--out`` (runs, datasets, meta-features, probes,
retest), the datasets whose source file is no longer in the shared folder (data withdrawn there
after the campaign ran; an injected variant goes with its origin) and rewrites ``summary.json``::

    .venv/bin/python -m bench.imputation_campaign --drop-withdrawn
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import traceback
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from metarec.files import atomic_write_text
from metarec.imputation.probe import (
    METRIC,
    cap_rows,
    configurations,
    cross_validate_imputers,
)
from metarec.jsonable import to_jsonable

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data" / "datasets"
WORK = REPO / "bench" / "out" / "imputation_campaign"
OUT = REPO / "knowledge_base" / "imputation"
SOURCE = "local"

MF_GROUPS = ["simple", "statistical", "info-theory", "missingness"]
RATES = (0.05, 0.1, 0.2, 0.3, 0.4)
MIN_ROWS = 40


@dataclass
class Task:
    """One dataset to run: where it comes from and, for injected ones, what to inject."""

    dataset_id: str
    origin: str  # the source dataset; injected variants share it (the leave-out group)
    path: Path
    target: str | None
    kind: str  # natural | injected
    mechanism: str | None = None
    rate: float | None = None
    seed: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


def configuration_id(family: str, imputer: str) -> str:
    return f"local-imputation-{family}-{imputer}"


# ---------------------------------------------------------------------------------- datasets


def natural_tasks() -> list[Task]:
    tasks = []
    index = pd.read_csv(SHARED / "liac_arff" / "INDEX.csv")
    index = index[(index["parse_ok"]) & (index["n_missing_cells"] > 0)]
    for row in index.sort_values("path").itertuples():
        rel = str(row.path).removesuffix(".arff.gz")
        tasks.append(Task(f"natural:liac/{rel}", f"liac/{rel}",
                          SHARED / "liac_arff" / str(row.path), None, "natural"))
    index = pd.read_csv(SHARED / "openml_arff" / "INDEX.csv")
    for row in index[index["n_missing_cells"] > 0].sort_values("name").itertuples():
        folder = SHARED / "openml_arff" / str(row.name)
        files = sorted(folder.glob("*.arff.gz"))
        if files:
            tasks.append(Task(f"natural:openml/{row.name}", f"openml/{row.name}", files[0], None,
                              "natural", extra={"openml_did": int(row.openml_did)}))
    return tasks


def recorded_tasks(datasets: pd.DataFrame) -> list[Task]:
    """The tasks a finished campaign ran, rebuilt from its ``datasets.parquet`` rows (origin,
    path, target, mechanism, rate, seed as recorded), so that a re-measurement uses exactly the
    campaign's datasets even when a new draw of origins would pick others."""
    tasks = []
    for row in datasets.itertuples():
        injected = row.kind == "injected"
        tasks.append(Task(str(row.dataset_id), str(row.origin), SHARED.parent.parent / row.path,
                          None if pd.isna(row.target) else str(row.target), str(row.kind),
                          str(row.mechanism) if injected else None,
                          float(row.rate) if injected else None,
                          int(row.seed) if injected else 0))
    return tasks


def _complete_origins() -> list[tuple[str, Path, str | None, str, int]]:
    """(origin, path, target, task, n_rows) for complete datasets of a manageable size."""
    out = []
    pmlb = pd.read_csv(SHARED / "pmlb" / "INDEX.csv")
    pmlb = pmlb[(pmlb["n_nan"] == 0) & (pmlb["n_rows"] >= 150) & (pmlb["n_features"] >= 3)
                & (pmlb["n_features"] <= 60) & (pmlb["n_rows"] <= 50_000)]
    for row in pmlb.itertuples():
        path = SHARED / "pmlb" / "datasets" / str(row.name) / f"{row.name}.tsv.gz"
        if path.exists():
            out.append((f"pmlb/{row.name}", path, str(row.target_col), str(row.task),
                        int(row.n_rows)))
    arff = pd.read_csv(SHARED / "openml_arff" / "INDEX.csv")
    arff = arff[(arff["n_missing_cells"] == 0) & ~arff["sparse_arff"] & arff["target_note"].isna()
                & (arff["n_attributes"] <= 61)]
    for row in arff.itertuples():
        files = sorted((SHARED / "openml_arff" / str(row.name)).glob("*.arff.gz"))
        if files:
            out.append((f"openml/{row.name}", files[0], None, "classification", int(row.n_rows)))
    return out


def _over_represented(origin: str) -> bool:
    # GAMETES tables are pure epistasis (no marginal signal: every model scores chance), and the
    # Friedman family is one generator in many sizes; both would dominate a uniform draw.
    return "GAMETES" in origin or "_fri_c" in origin


def injected_tasks(n_origins: int, variants: int, seed: int = 0) -> list[Task]:
    """``variants`` injected copies of each of ``n_origins`` complete datasets, drawn seeded.

    Origins are drawn half classification, half regression; the variants of an origin cycle
    through the mechanisms with rates drawn from RATES. Tasks are ordered round-robin (first
    variant of every origin, then the second, ...) so a partial campaign is still balanced.
    """
    rng = np.random.default_rng(seed)
    pool = _complete_origins()
    chosen = []
    for task_type in ("classification", "regression"):
        cands = [p for p in pool if p[3] == task_type and not _over_represented(p[0])]
        # PMLB holds dozens of Friedman variants; two keep them from crowding out real data.
        fried = [p for p in pool if p[3] == task_type and "_fri_c" in p[0]]
        cands += [fried[i] for i in rng.choice(len(fried), min(2, len(fried)), replace=False)]
        cands.sort(key=lambda p: p[0])
        take = min(len(cands), (n_origins + (task_type == "classification")) // 2)
        chosen += [cands[i] for i in np.sort(rng.choice(len(cands), take, replace=False))]
    per_origin = []
    for k, (origin, path, target, _task, _n) in enumerate(chosen):
        mechs = np.array(["mcar", "mar", "mnar"])[rng.permutation(3)]
        rates = rng.choice(RATES, variants, replace=variants > len(RATES))
        rows = []
        for v in range(variants):
            mech, rate = str(mechs[v % 3]), float(rates[v])
            vseed = 1000 * k + v
            rows.append(Task(f"injected:{origin}:{mech}:{rate:.2f}:s{vseed}", origin, path,
                             target, "injected", mech, rate, vseed))
        per_origin.append(rows)
    return [rows[v] for v in range(variants) for rows in per_origin if v < len(rows)]


def subsample(X: pd.DataFrame, y: pd.Series, max_rows: int, max_features: int, seed: int,
              classification: bool) -> tuple[pd.DataFrame, pd.Series, list[str]]:
    notes = []
    rng = np.random.default_rng(seed)
    if len(X) > max_rows:
        notes.append(f"rows subsampled {len(X)} -> {max_rows} (seed {seed})")
        X, y = cap_rows(X, y, max_rows, seed, classification)
    if X.shape[1] > max_features:
        cols = np.sort(rng.choice(X.shape[1], max_features, replace=False))
        notes.append(f"features subsampled {X.shape[1]} -> {max_features} (seed {seed})")
        X = X.iloc[:, cols]
    return X.reset_index(drop=True), y.reset_index(drop=True), notes


def drop_rare_classes(X: pd.DataFrame, y: pd.Series, n_folds: int) -> tuple[
        pd.DataFrame, pd.Series, list[str]]:
    # A class with fewer members than folds cannot be stratified; it is dropped and reported.
    counts = y.value_counts()
    rare = counts[counts < n_folds].index
    if len(rare) == 0:
        return X, y, []
    keep = ~y.isin(rare).to_numpy()
    y = y[keep].cat.remove_unused_categories() if hasattr(y, "cat") else y[keep]
    note = f"dropped {int((~keep).sum())} row(s) of {len(rare)} class(es) with < {n_folds} rows"
    return X[keep].reset_index(drop=True), y.reset_index(drop=True), [note]


# ------------------------------------------------------------------------------------ running


def run_dataset(X: pd.DataFrame, y: pd.Series, task_type: str, n_folds: int, n_jobs: int,
                seed: int = 0, families: tuple[str, ...] | None = None) -> list[dict[str, Any]]:
    """Cross-validate every configuration on (X, y) with one shared set of folds (KB run rows)."""
    rows = cross_validate_imputers(X, y, task_type, n_folds, n_jobs=n_jobs, seed=seed,
                                   families=families)
    for row in rows:
        row.update(configuration_id=configuration_id(row["family"], row["imputer"]),
                   higher_is_better=True, source=SOURCE)
    return rows


def _shown_path(path: Path) -> str:
    # relative to the shared folder, so the committed tables name no machine-specific paths
    try:
        return str(path.relative_to(SHARED.parent.parent))
    except ValueError:
        return path.name


def prepare(task: Task, max_rows: int, max_features: int, n_folds: int) -> tuple[
        pd.DataFrame, pd.Series, str, dict[str, Any]]:
    """Load, clean, subsample and (for injected tasks) inject; return X, y, task type, record."""
    from metarec.imputation.injection import inject
    from metarec.io import load_dataset

    data = load_dataset(task.path, target=task.target, lenient=True)
    n_original = len(data.y) + sum(
        int(n.split()[1]) for n in data.notes if n.startswith("dropped ") and "target" in n)
    X, y = data.X, data.y
    classification = data.task == "classification"
    X, y, notes = subsample(X, y, max_rows, max_features, task.seed, classification)
    notes = list(data.notes) + notes
    if classification:
        X, y, more = drop_rare_classes(X, y, n_folds)
        notes += more
    record: dict[str, Any] = {
        "dataset_id": task.dataset_id, "origin": task.origin, "kind": task.kind,
        "path": _shown_path(task.path), "target": data.target,
        "task_type": data.task, "n_rows_original": n_original, "n_rows": len(y),
        "n_features": X.shape[1],
        "n_classes": int(y.nunique()) if classification else None,
        "mechanism": task.mechanism or "natural", "rate": task.rate, "seed": task.seed,
        "max_rows": max_rows, "max_features": max_features, "n_folds": n_folds, **task.extra,
    }
    if task.kind == "injected":
        if X.isna().any().any():
            raise ValueError("origin dataset is not complete")
        X, injection = inject(X, task.mechanism, task.rate, seed=task.seed)  # type: ignore[arg-type]
        record.update(column_share=injection.column_share,
                      masked_columns=json.dumps(injection.masked_columns),
                      drivers=json.dumps(injection.drivers))
    record["achieved_rate"] = float(X.isna().to_numpy().mean())
    record["notes"] = "; ".join(notes)
    return X, y, data.task, record


def skip_reason(X: pd.DataFrame, y: pd.Series, task_type: str, n_folds: int) -> str | None:
    if len(y) < MIN_ROWS:
        return f"only {len(y)} rows (< {MIN_ROWS})"
    if not X.isna().any().any():
        return "no missing feature values (missing values only in the target, or none)"
    if task_type == "classification" and y.nunique() < 2:
        return "fewer than two classes with enough rows"
    return None


def process(task: Task, args: argparse.Namespace) -> dict[str, Any]:
    import metafeatures

    started = time.time()
    try:
        X, y, task_type, record = prepare(task, args.max_rows, args.max_features, args.folds)
    except Exception as exc:  # noqa: BLE001 - unreadable data is recorded as skipped
        return {"dataset": {"dataset_id": task.dataset_id, "origin": task.origin,
                            "kind": task.kind, "skipped": f"{type(exc).__name__}: {exc}"[:300]}}
    reason = skip_reason(X, y, task_type, args.folds)
    if reason:
        return {"dataset": {**record, "skipped": reason}}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mf = metafeatures.extract(X, y, groups=MF_GROUPS, random_state=0, task=task_type)
    runs = run_dataset(X, y, task_type, args.folds, args.n_jobs)
    for run in runs:
        run["dataset_id"] = task.dataset_id
    record["skipped"] = ""
    record["wall_s"] = round(time.time() - started, 2)
    return {"dataset": record, "runs": runs,
            "metafeatures": to_jsonable(mf)}


def _part_path(work: Path, dataset_id: str) -> Path:
    safe = "".join(ch if ch.isalnum() or ch in "-._" else "_" for ch in dataset_id)
    return work / "parts" / f"{safe}.json"


def campaign(tasks: list[Task], args: argparse.Namespace) -> None:
    deadline = time.time() + args.budget_min * 60 if args.budget_min else None
    for i, task in enumerate(tasks):
        part = _part_path(args.work, task.dataset_id)
        if part.exists():
            continue
        if deadline and time.time() > deadline:
            print(f"budget reached; {len(tasks) - i} task(s) left for a rerun", flush=True)
            return
        try:
            result = process(task, args)
        except Exception as exc:  # noqa: BLE001 - recorded; the campaign goes on
            result = {"dataset": {"dataset_id": task.dataset_id, "origin": task.origin,
                                  "kind": task.kind,
                                  "skipped": f"error: {type(exc).__name__}: {exc}"[:300]}}
        atomic_write_text(part, json.dumps(to_jsonable(result), allow_nan=False))
        ds = result["dataset"]
        status = ds.get("skipped") or f"{len(result.get('runs', []))} runs, {ds.get('wall_s')} s"
        print(f"[{i + 1}/{len(tasks)}] {task.dataset_id}: {status}", flush=True)


# ------------------------------------------------------------------------------ consolidation


def read_parts(work: Path) -> Iterator[dict[str, Any]]:
    for path in sorted((work / "parts").glob("*.json")):
        if path.name.startswith("."):
            continue  # a temporary file an interrupted write left behind
        with open(path, encoding="utf-8") as handle:
            yield json.load(handle)


def consolidate(work: Path, out: Path) -> dict[str, int]:
    """Write runs / datasets / metafeatures / configurations tables from the finished parts."""
    datasets, runs, mfs = [], [], []
    for part in read_parts(work):
        datasets.append(part["dataset"])
        runs += part.get("runs", [])
        for quality, value in (part.get("metafeatures") or {}).items():
            mfs.append((part["dataset"]["dataset_id"], quality, value))
    if not datasets:
        raise SystemExit(f"no finished datasets under {work / 'parts'}")
    out.mkdir(parents=True, exist_ok=True)
    ds = pd.DataFrame(datasets).sort_values("dataset_id")
    runs_frame = pd.DataFrame(runs).sort_values(["dataset_id", "configuration_id"])
    mf = pd.DataFrame(mfs, columns=["dataset_id", "quality", "value"]).sort_values(
        ["dataset_id", "quality"])
    mf["value"] = mf["value"].astype(float)
    for obj_col in ("masked_columns", "drivers", "notes", "skipped"):
        if obj_col in ds:
            ds[obj_col] = ds[obj_col].astype("string")
    ds.to_parquet(out / "datasets.parquet", index=False)
    runs_frame.to_parquet(out / "runs.parquet", index=False)
    mf.to_parquet(out / "metafeatures.parquet", index=False)
    configs = {}
    for task_type in METRIC:
        for family, imputer, spec in configurations(task_type):
            configs[f"{configuration_id(family, imputer)}:{task_type}"] = {
                "configuration_id": configuration_id(family, imputer), "family": family,
                "imputer": imputer, "task_type": task_type, "spec": spec}
    with open(out / "configurations.json", "w", encoding="utf-8") as handle:
        json.dump(configs, handle, indent=1, sort_keys=True)
    return write_summary(ds, runs_frame, out)


def write_summary(ds: pd.DataFrame, runs_frame: pd.DataFrame, out: Path) -> dict[str, Any]:
    done = ds[ds["skipped"].fillna("") == ""]
    summary = {"datasets_run": int(len(done)), "datasets_skipped": int(len(ds) - len(done)),
               "natural": int((done["kind"] == "natural").sum()),
               "injected": int((done["kind"] == "injected").sum()),
               "injected_origins": int(done.loc[done["kind"] == "injected", "origin"].nunique()),
               "origins": int(done["origin"].nunique()), "runs": int(len(runs_frame)),
               "runs_failed": int(runs_frame["value"].isna().sum()),
               "cpu_seconds": round(float(runs_frame["runtime_s"].sum()), 1)}
    with open(out / "summary.json", "w", encoding="utf-8") as handle:
        json.dump(summary, handle, indent=1)
    return summary


# ------------------------------------------------------------------------ withdrawn source data


def source_file(origin: str) -> Path:
    """The raw file under the shared folder that a campaign origin (``liac/...``) is read from."""
    kind, _, rest = origin.partition("/")
    if kind == "liac":
        return SHARED / "liac_arff" / f"{rest}.arff.gz"
    if kind == "pmlb":
        return SHARED / "pmlb" / "datasets" / rest / f"{rest}.tsv.gz"
    if kind == "openml":
        files = sorted((SHARED / "openml_arff" / rest).glob("*.arff.gz"))
        return files[0] if files else SHARED / "openml_arff" / rest / f"{rest}.arff.gz"
    raise ValueError(f"campaign origin {origin!r} names no known folder of the shared data")


def withdrawn(ds: pd.DataFrame) -> list[str]:
    """Ids of campaign datasets whose source file no longer exists in the shared folder.

    The recorded ``path`` (relative to the shared folder) is checked where there is one; a dataset
    skipped before its file was read has none, and its origin's file is checked instead.
    """
    gone = []
    for row in ds.itertuples():
        path = row.path if isinstance(row.path, str) and row.path else None
        file = SHARED.parent.parent / path if path else source_file(str(row.origin))
        if not file.is_file():
            gone.append(str(row.dataset_id))
    return sorted(gone)


def drop_withdrawn(out: Path) -> dict[str, Any]:
    """Remove withdrawn datasets from every campaign table in ``out``; rewrite the summary."""
    if not SHARED.is_dir():
        raise SystemExit(f"needs the shared data folder {SHARED} to tell what was withdrawn")
    ds = pd.read_parquet(out / "datasets.parquet")
    gone = set(withdrawn(ds))
    removed: dict[str, int] = {}
    for file in sorted(out.glob("*.parquet")):
        table = pd.read_parquet(file)
        if "dataset_id" not in table.columns:
            continue
        keep = ~table["dataset_id"].isin(gone)
        removed[file.stem] = int((~keep).sum())
        if not keep.all():
            table[keep].to_parquet(file, index=False)
    ds = pd.read_parquet(out / "datasets.parquet")
    summary = write_summary(ds, pd.read_parquet(out / "runs.parquet"), out)
    return {"withdrawn": sorted(gone), "rows_removed": removed, "summary": summary}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--part", choices=["natural", "injected", "all"], default="all")
    parser.add_argument("--origins", type=int, default=30, help="complete datasets to inject into")
    parser.add_argument("--variants", type=int, default=4, help="injected copies per origin")
    parser.add_argument("--max-rows", type=int, default=1000)
    parser.add_argument("--max-features", type=int, default=30)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument("--budget-min", type=float, default=0.0, help="stop after N minutes")
    parser.add_argument("--limit", type=int, default=0, help="run at most N tasks (0: all)")
    parser.add_argument("--work", type=Path, default=WORK)
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--consolidate", action="store_true", help="only write the tables")
    parser.add_argument("--drop-withdrawn", action="store_true",
                        help="only remove datasets whose source file left the shared folder "
                             "from the tables in --out (after --consolidate, if also given)")
    args = parser.parse_args(argv)
    if args.n_jobs > 2:
        print("note: n_jobs above 2 competes with other work on this machine", file=sys.stderr)
    if args.drop_withdrawn:
        if args.consolidate:
            print(json.dumps(consolidate(args.work, args.out)))
        print(json.dumps(drop_withdrawn(args.out)))
        return 0
    if not args.consolidate:
        if not SHARED.exists():
            print(f"needs the shared data folder {SHARED}", file=sys.stderr)
            return 2
        tasks: list[Task] = []
        if args.part in ("natural", "all"):
            tasks += natural_tasks()
        if args.part in ("injected", "all"):
            tasks += injected_tasks(args.origins, args.variants)
        if args.limit:
            tasks = tasks[: args.limit]
        try:
            campaign(tasks, args)
        except KeyboardInterrupt:
            print("interrupted; finished datasets are kept, rerun to continue", file=sys.stderr)
            return 130
    try:
        print(json.dumps(consolidate(args.work, args.out)))
    except Exception:  # noqa: BLE001
        traceback.print_exc()
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
