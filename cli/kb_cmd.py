"""``metarec kb``: inspect, build, refresh and extend the knowledge base."""

from __future__ import annotations

from pathlib import Path

import typer
from metarec.cli import options
from metarec.cli.errors import handle_errors, warn

app = typer.Typer(
    help="Inspect, build and refresh the knowledge base.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

KB_OPTION = typer.Option(None, "--kb", help="Knowledge-base directory (default: the shipped one).")


@app.command("info")
@handle_errors
def info(
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
    kb: Path | None = KB_OPTION,
) -> None:
    """Show what the knowledge base holds: datasets, configurations and runs per source."""
    from metarec.cli.render import dumps

    from metarec.kb import load

    summary = load(kb).summary()
    if as_json:
        typer.echo(dumps(summary))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"Knowledge base v{summary['version']} ({summary['build_date']})")
    for col in ("source", "datasets", "configurations", "runs", "metrics"):
        table.add_column(col, justify="left" if col in ("source", "metrics") else "right")
    for name, src in summary["sources"].items():
        table.add_row(name, f"{src['datasets']:,}", f"{src['configurations']:,}",
                      f"{src['runs']:,}", ", ".join(src["metrics"]))
    table.add_row("all (distinct)", f"{summary['datasets']:,}", f"{summary['configurations']:,}",
                  f"{summary['runs']:,}", "", style="bold")
    console = Console()
    console.print(table)
    origins = ", ".join(f"{k}: {v}" for k, v in summary["metafeatures"].items())
    console.print(f"Datasets with meta-features by origin: {origins}")
    console.print(f"Location: {summary['path']}")


@app.command("build")
@handle_errors
def build(
    data_root: Path = typer.Option(..., "--from", help="The shared data folder (../shared/data)."),
    out: Path | None = typer.Option(None, "--out", help="Where to write (default: shipped KB)."),
    sources: list[str] | None = typer.Option(
        None, "--source", help="Only these sources (repeatable); default: all."
    ),
    campaigns: list[Path] | None = typer.Option(
        None, "--campaign", help="A run campaign's folder to import as well (repeatable), e.g. "
        "knowledge_base/campaigns/regression."
    ),
) -> None:
    """Rebuild the knowledge base from run files, deterministically and atomically."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from metarec.kb import build as kb_build
    from metarec.kb import default_path
    from metarec.kb.importers import NAMES

    target = out or default_path()
    steps = len(sources or NAMES) + len(campaigns or []) + 3
    with Progress(TextColumn("{task.description:<36}"), BarColumn(), TimeElapsedColumn(),
                  transient=False) as bar:
        task = bar.add_task("starting", total=steps)

        def progress(message: str) -> None:
            bar.update(task, description=message, advance=1)

        manifest = kb_build.build(data_root, target, importers=sources or None, progress=progress,
                                  campaigns=campaigns or ())
        bar.update(task, description="done", completed=steps)
    figures = manifest["figures"]
    typer.echo(
        f"Built {target}: {figures['datasets']:,} datasets, {figures['configurations']:,} "
        f"configurations, {figures['runs']:,} runs in {manifest['build_seconds']:.1f} s."
    )


@app.command("refresh")
@handle_errors(flags={"target": "--kb"})  # refresh_openml's target is the knowledge base
def refresh(
    openml: bool = typer.Option(False, "--openml", help="Fetch new runs from OpenML."),
    suite: str | None = typer.Option("99", "--suite", help="OpenML benchmark suite id or alias."),
    flows: str = typer.Option("6969,6970,8784", "--flows", help="Comma-separated OpenML flows."),
    metrics: str = typer.Option("predictive_accuracy", "--metrics", help="Comma-separated."),
    page_size: int = typer.Option(10_000, "--page-size", min=1, help="Runs per OpenML request."),
    kb: Path | None = typer.Option(
        None, "--kb", help="Knowledge base to update (default: your user KB, never the shipped)."
    ),
) -> None:
    """Add runs from OpenML that the knowledge base does not hold yet (incremental, cached)."""
    from metarec.errors import KnowledgeBaseError
    from metarec.kb import refresh as kb_refresh

    if not openml:
        raise KnowledgeBaseError("say where to refresh from: only --openml is supported.")
    try:
        flow_ids = tuple(int(f) for f in flows.split(",") if f.strip())
    except ValueError:
        raise KnowledgeBaseError(
            f"--flows must be comma-separated integers, not {flows!r}."
        ) from None
    suite_id: int | str | None = None if suite in (None, "", "none") else (
        int(suite) if str(suite).isdigit() else suite)
    result = kb_refresh.refresh_openml(
        kb, suite=suite_id, flows=flow_ids,
        metrics=tuple(m.strip() for m in metrics.split(",") if m.strip()),
        page_size=page_size, progress=lambda msg: typer.echo(msg, err=True),
        cache=kb_refresh.cache_dir(),
    )
    typer.echo(
        f"{result['added_runs']:,} new runs added to {result['target']} "
        f"({result['fetched']:,} fetched, {result['already_known']:,} OpenML runs already known, "
        f"{result['unsupported_runs']:,} of unsupported flows skipped)."
    )


@app.command("add")
@handle_errors
def add(
    data: Path = typer.Argument(..., help="CSV, TSV, Parquet or ARFF file (gzip ok)."),
    target: str | None = options.TARGET,
    kb: Path | None = typer.Option(
        None, "--kb", help="User knowledge base to add to (default: your user KB)."
    ),
    portfolio_size: int = typer.Option(16, "--portfolio-size", min=1),
    folds: int = typer.Option(5, "--folds", min=2, help="Cross-validation folds."),
    n_jobs: int = typer.Option(
        1, "--n-jobs", help="Workers (-1: one per core); with --backend dask, the workers of the "
        "local cluster it starts."
    ),
    backend: str | None = typer.Option(
        None, "--backend", help="joblib backend: loky (default), dask (a local Dask cluster, or "
        "the one at --scheduler) or ray."
    ),
    scheduler: str | None = typer.Option(
        None, "--scheduler", metavar="ADDRESS",
        help="Run on the existing Dask cluster whose scheduler is at ADDRESS, e.g. "
        "tcp://10.0.0.5:8786 (implies --backend dask)."
    ),
    strict: bool = options.STRICT,
    lenient: bool = options.LENIENT,
    encoding: str = options.ENCODING,
    sep: str | None = options.SEP,
) -> None:
    """Run a portfolio of KB configurations on your dataset and add the runs to your user KB."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    from metarec.kb import add as kb_add

    with Progress(BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()) as bar:
        task = bar.add_task("portfolio", total=None)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        result = kb_add.add_dataset(data, target, kb, portfolio_size=portfolio_size, folds=folds,
                                    n_jobs=n_jobs, backend=backend, scheduler=scheduler,
                                    progress=progress,
                                    **options.read_options(strict, lenient, encoding, sep))
    for note in result["notes"]:
        warn(note)
    best = result["best"]
    best_text = (f"best {result['metric']} {best['value']:.4f} ({best['configuration_id']})"
                 if best else "no configuration could be fitted")
    typer.echo(
        f"Added {data.name} as {result['dataset_id']} to {result['target']}: "
        f"{result['portfolio']} configurations ({result['evaluated_now']} run now, "
        f"{result['failed']} failed); {best_text}."
    )
