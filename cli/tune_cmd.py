"""``metarec tune``: a warm-started Optuna study for a dataset, and the fitted best pipeline."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import typer
from metarec.cli import options
from metarec.cli.errors import handle_errors, warn

BEST_SHOWN = 5
DEFAULT_TRIALS = 50
KEY_HYPERPARAMETERS = 4  # the table shows these many; --json has them all


@handle_errors
def tune(
    data: Path = typer.Argument(..., help="CSV, TSV, Parquet or ARFF file (optionally .gz)."),
    target: str | None = options.TARGET,
    trials: int | None = typer.Option(
        None, "--trials", "-n",
        help="Trials to run in this process (default 50; 0: fit the top recommendation; with "
        "--time-budget: at most this many on all rows, default no limit).",
    ),
    timeout: float | None = typer.Option(
        None, "--timeout", help="Stop starting new trials after this many seconds."
    ),
    time_budget: float | None = typer.Option(
        None, "--time-budget",
        help="Seconds for the whole command (profile, trials, refit, ensemble): each trial is "
        "stopped when it would overrun. The recommended set is tried first, on row subsamples "
        "for large tables.",
    ),
    cv: int = typer.Option(5, "--cv", help="Cross-validation folds per trial."),
    top: int = typer.Option(
        10, "--top", "-k",
        help="Recommendations enqueued as the first trials (chosen from the top 3 x K).",
    ),
    search_space: str = typer.Option(
        "full", "--search-space",
        help="full: every algorithm; recommended: only those of the top 3 x K recommendations.",
    ),
    storage: str | None = typer.Option(
        None, "--storage",
        help="Optuna RDB storage: a file path (SQLite) or a URL such as "
        "postgresql://user@host/db; processes sharing it and --study-name cooperate.",
    ),
    study_name: str | None = typer.Option(
        None, "--study-name", help="Study name in --storage (default: metarec-tune)."
    ),
    out: Path | None = typer.Option(
        None, "--out", "-o", help="Save the fitted best pipeline here (skops format)."
    ),
    force: bool = typer.Option(False, "--force", help="Overwrite --out if it exists."),
    ensemble_size: int = typer.Option(
        50, "--ensemble-size",
        help="Rounds of ensemble selection over the evaluated pipelines (0: the single best).",
    ),
    kb: Path | None = typer.Option(
        None, "--kb", help="Knowledge base directory (default: shipped)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object instead of tables."),
    n_jobs: int | None = typer.Option(
        None, "--jobs", help="Parallel cross-validation folds per trial."
    ),
    strict: bool = options.STRICT,
    lenient: bool = options.LENIENT,
    encoding: str = options.ENCODING,
    sep: str | None = options.SEP,
    seed: int | None = typer.Option(0, help="Seed for the sampler, the folds and the models."),
) -> None:
    """Tune a pipeline for DATA with Optuna, starting from metarec's recommendations."""
    import time

    from metarec.errors import MetaRecError, TuningError
    from metarec.io import load_dataset
    from metarec.tuning import SEARCH_SPACES, save_pipeline
    from metarec.tuning.search import check_time_budget, search

    started = time.monotonic()
    if time_budget is not None:
        check_time_budget(time_budget, timeout)
        if out is not None:
            # skops takes seconds to import: now, inside the budget, not after the search
            import skops.io  # noqa: F401
    trials = (0 if time_budget is not None else DEFAULT_TRIALS) if trials is None else trials
    if trials < 0:
        raise TuningError(f"--trials must be zero or more, not {trials}.")
    if top < 0:
        raise TuningError(f"--top must be zero or more, not {top}.")
    if search_space not in SEARCH_SPACES:
        raise TuningError(
            f"--search-space must be {' or '.join(SEARCH_SPACES)}, not {search_space!r}.")
    if out is not None and out.exists() and not force:
        raise MetaRecError(f"{out} already exists; choose another --out or pass --force.")
    dataset = load_dataset(data, target, **options.read_options(strict, lenient, encoding, sep))
    for note in dataset.notes:
        warn(note)
    with _Progress(trials, as_json, time_budget, started) as progress:
        found = search(dataset.X, dataset.y, dataset.task, kb=kb, top_k=top, n_trials=trials,
                       timeout=timeout, cv=cv, storage=storage, study_name=study_name,
                       random_state=seed, n_jobs=n_jobs, callbacks=[progress.update],
                       search_space=search_space, source=data.name,
                       ensemble_size=ensemble_size, time_budget=time_budget, started=started,
                       optuna_log_level=_quiet_level())
    if found.recommended.source != "meta-learner":
        warn(f"recommendations come from the {found.recommended.source} (the meta-learner was "
             "unavailable)")
    for note in found.notes:
        warn(note)
    saved = (save_pipeline(found.pipeline, out, overwrite=force) if out is not None else None)
    summary = _summary(found, data.name, dataset.task, saved,
                       named=storage is not None or study_name is not None)
    summary["time_budget"] = time_budget
    summary["elapsed_seconds"] = round(time.monotonic() - started, 2)
    if as_json:
        from metarec.cli.render import dumps

        typer.echo(dumps(summary))
        return
    _print_summary(summary)


def _quiet_level() -> int:
    import logging

    # Failed trials are counted in the final table; Optuna's per-trial tracebacks would bury it.
    return logging.ERROR + 10


class _Progress:
    """A rich progress bar over this process's trials (or, with a time budget, over the budget's
    seconds), showing the study's best score so far."""

    def __init__(self, total: int, silent: bool, budget: float | None = None,
                 started: float = 0.0) -> None:
        self.total, self.silent, self.budget, self.started = total, silent, budget, started
        self.progress: Any = None
        self.count = 0

    def __enter__(self) -> _Progress:
        if self.silent or (self.total == 0 and self.budget is None):
            return self
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        counter = (TextColumn("{task.fields[trials]} trials, {task.fields[left]} s left")
                   if self.budget is not None else MofNCompleteColumn())
        self.progress = Progress(
            TextColumn("tuning"), BarColumn(), counter,
            TextColumn("best {task.fields[best]}"), TimeElapsedColumn(),
            console=Console(stderr=True), transient=False,
        )
        self.progress.start()
        self.task = self.progress.add_task(
            "tune", total=self.budget if self.budget is not None else self.total, best="—",
            trials=0, left=f"{self.budget:.0f}" if self.budget is not None else "")
        return self

    def update(self, study: Any, trial: Any) -> None:
        if self.progress is None:
            return
        import time

        self.count += 1
        best = _best_value(study)
        shown = "—" if best is None else f"{best:.4f}"
        if self.budget is None:
            self.progress.update(self.task, advance=1, best=shown)
            return
        elapsed = time.monotonic() - self.started
        self.progress.update(self.task, completed=min(elapsed, self.budget), best=shown,
                             trials=self.count, left=f"{max(self.budget - elapsed, 0):.0f}")

    def __exit__(self, *exc: Any) -> None:
        if self.progress is not None:
            self.progress.stop()


def _best_value(study: Any) -> float | None:
    try:
        return float(study.best_value)
    except ValueError:  # no completed trial yet
        return None


def _summary(found: Any, name: str, task: str, saved: Path | None,
             named: bool = True) -> dict[str, Any]:
    """The run as one JSON-able object; ``named``: the study has a name the user gave or
    stored it under (Optuna names an unnamed in-memory study ``no-name-<uuid>``)."""
    import optuna

    from metarec.tuning import DEFAULT_SCORING, ERROR_ATTR

    study = found.study
    trials = [] if study is None else study.get_trials(deepcopy=False)
    done = [t for t in trials if t.state == optuna.trial.TrialState.COMPLETE]
    failed = [t for t in trials if t.state == optuna.trial.TrialState.FAIL]
    # under a time budget, candidates scored on a row subsample only
    subsampled = [t for t in trials if t.state == optuna.trial.TrialState.PRUNED]
    ranked = sorted(done, key=lambda t: t.value, reverse=True)[:BEST_SHOWN]
    return {
        "dataset": name,
        "task": task,
        "metric": (DEFAULT_SCORING[task] if study is None
                   else study.user_attrs.get("metarec:scoring", DEFAULT_SCORING[task])),
        "study_name": None if study is None or not named else study.study_name,
        "study_storage": None if study is None else ("rdb" if named and _stored(study)
                                                     else "memory"),
        "recommendations_from": found.recommended.source,
        "trials": {"complete": len(done), "failed": len(failed),
                   "subsample_only": len(subsampled), "total": len(trials)},
        "best_score": None if study is None else _best_value(study),
        "best_pipeline": found.spec,
        "not_fitted": found.skipped,
        "ensemble": [{"algorithm": spec.get("algorithm"), "weight": round(weight, 4),
                      "pipeline": spec} for spec, weight in found.ensemble],
        "notes": found.notes,
        "best_trials": [
            {
                "number": t.number,
                "score": t.value,
                "cv_std": t.user_attrs.get("metarec:cv_std"),
                "algorithm": t.params.get("algorithm"),
                "warm_start_rank": t.user_attrs.get("metarec:warm_start_rank"),
                "params": {k.split(":", 1)[-1]: v for k, v in t.params.items()
                           if k != "algorithm"},
            }
            for t in ranked
        ],
        "failures": [t.user_attrs.get(ERROR_ATTR) for t in failed][:BEST_SHOWN],
        "model": None if saved is None else str(saved),
    }


def _stored(study: Any) -> bool:
    import optuna

    return not isinstance(getattr(study, "_storage", None), optuna.storages.InMemoryStorage)


def _print_summary(summary: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    counts = summary["trials"]
    if summary["study_storage"] is None:
        _print_fitted(console, summary)
        return
    where = ("in-memory study (not kept; --storage keeps one)" if summary["study_name"] is None
             else f"study {summary['study_name']!r}" + (" (in memory)"
                                                        if summary["study_storage"] == "memory"
                                                        else ""))
    table = Table(
        title=f"{summary['dataset']}: best trials ({summary['metric']}, cross-validated)",
        caption=f"{where}: {counts['complete']} complete, "
        + (f"{counts['subsample_only']} on a row subsample only, "
           if counts["subsample_only"] else "")
        + f"{counts['failed']} failed; warm start from the {summary['recommendations_from']}"
        + (f"; {summary['elapsed_seconds']:.0f} s of a {summary['time_budget']:g} s budget"
           if summary.get("time_budget") else ""),
    )
    table.add_column("trial", justify="right")
    table.add_column("score ± std", justify="right", no_wrap=True)
    table.add_column("algorithm", no_wrap=True)
    table.add_column("imputer")
    table.add_column("warm", justify="right")
    table.add_column("key hyperparameters", ratio=1, overflow="fold")
    for row in summary["best_trials"]:
        params = dict(row["params"])
        imputer = params.pop("imputer", None) or params.pop("imputer_nan", None) or "—"
        shown = [f"{k}={_short(v)}" for k, v in params.items()][:KEY_HYPERPARAMETERS]
        if len(params) > KEY_HYPERPARAMETERS:
            shown.append("…")
        std = row["cv_std"]
        table.add_row(
            str(row["number"]),
            f"{row['score']:.4f}" + ("" if std is None else f" ± {std:.4f}"),
            str(row["algorithm"]), str(imputer),
            "—" if row["warm_start_rank"] is None else f"#{row['warm_start_rank']}",
            ", ".join(shown),
        )
    console.print(table)
    if summary["ensemble"]:
        console.print("fitted an ensemble of " + ", ".join(
            f"{m['algorithm']} ({m['weight']:.2f})" for m in summary["ensemble"]))
    if summary["model"]:
        console.print(f"fitted model saved to {summary['model']} (skops)")
    if counts["complete"] == 0:
        console.print("no trial completed: the top recommendation that fits was fitted")


def _print_fitted(console: Any, summary: dict[str, Any]) -> None:
    """Without trials there is nothing to rank: say what was fitted and why."""
    from rich.markup import escape
    from rich.table import Table

    spec = summary["best_pipeline"]
    imputer = spec.get("imputer")
    table = Table(
        title=f"{summary['dataset']}: fitted without tuning",
        caption="--trials 0: the first of the recommendations (from the "
        f"{summary['recommendations_from']}) that fits the data, fitted on all of it; "
        "not cross-validated",
    )
    table.add_column("algorithm", no_wrap=True)
    table.add_column("imputer")
    table.add_column("hyperparameters", overflow="fold")
    table.add_row(escape(str(spec["algorithm"])),
                  escape(str(imputer.get("name") if isinstance(imputer, dict) else imputer)),
                  escape(", ".join(f"{k}={_short(v)}"
                                   for k, v in spec.get("hyperparameters", {}).items()) or "—"))
    console.print(table)
    for reason in summary["not_fitted"]:
        console.print(f"not fitted: {escape(reason)}")
    if summary["model"]:
        console.print(f"fitted pipeline saved to {summary['model']} (skops)")


def _short(value: Any) -> str:
    if isinstance(value, float):
        return "nan" if math.isnan(value) else f"{value:.4g}"
    return str(value)
