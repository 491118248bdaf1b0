"""``metarec profile``: meta-features of a dataset, as a table or as JSON."""

from __future__ import annotations

from pathlib import Path

import typer
from metarec.cli import options
from metarec.cli.errors import handle_errors, warn

GROUP_HELP = (
    "Meta-feature group to compute (repeatable): simple, statistical, info-theory, "
    "missingness, landmarking. Default: all."
)


@handle_errors
def profile(
    data: Path = typer.Argument(..., help="CSV, TSV, Parquet or ARFF file (optionally .gz)."),
    target: str | None = options.TARGET,
    group: list[str] | None = typer.Option(None, "--group", "-g", help=GROUP_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object instead of a table."),
    strict: bool = options.STRICT,
    lenient: bool = options.LENIENT,
    encoding: str = options.ENCODING,
    sep: str | None = options.SEP,
    seed: int = typer.Option(0, help="Seed for the sampling used by landmarkers on large data."),
) -> None:
    """Profile DATA with meta-features (OpenML's quality names where OpenML defines them)."""
    import metafeatures
    from metarec.io import load_dataset

    dataset = load_dataset(data, target, **options.read_options(strict, lenient, encoding, sep))
    for note in dataset.notes:
        warn(note)
    by_group = metafeatures.extract_by_group(
        dataset.X, dataset.y, groups=group or None, random_state=seed, task=dataset.task
    )
    if as_json:
        from metarec.cli.render import dumps

        payload = {
            "dataset": data.name,
            "target": dataset.target,
            "task": dataset.task,
            "notes": dataset.notes,
            "metafeatures": {k: v for s in by_group.values() for k, v in s.items()},
            "groups": {g: list(s.index) for g, s in by_group.items()},
        }
        typer.echo(dumps(payload))
        return
    _print_table(data.name, dataset.target, dataset.task, by_group)


def _print_table(name: str, target: str, task: str, by_group: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{name}: target {target!r} ({task})", show_lines=False)
    table.add_column("group", style="cyan", no_wrap=True)
    table.add_column("meta-feature")
    table.add_column("value", justify="right")
    for group, values in by_group.items():
        for i, (feature, value) in enumerate(values.items()):
            shown = "—" if value != value else f"{value:.6g}"
            table.add_row(group if i == 0 else "", feature, shown)
    Console().print(table)
