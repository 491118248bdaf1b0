"""``metarec recommend``: ranked pipelines for a dataset, with the evidence behind them."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import typer
from metarec.cli import options
from metarec.cli.errors import handle_errors, warn


@handle_errors
def recommend(
    data: Path = typer.Argument(
        ..., help="CSV, TSV, Parquet or ARFF file (optionally .gz), or a folder of images."
    ),
    target: str | None = options.TARGET,
    top: int = typer.Option(5, "--top", "-k", min=1, max=100, help="How many recommendations."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object instead of tables."),
    kb: Path | None = typer.Option(
        None, "--kb", help="Knowledge base directory (default: shipped)."
    ),
    plot: Path | None = typer.Option(
        None, "--plot", help="Also draw the ranking and the dataset's place among KB datasets."
    ),
    strict: bool = options.STRICT,
    lenient: bool = options.LENIENT,
    encoding: str = options.ENCODING,
    sep: str | None = options.SEP,
    seed: int = typer.Option(0, help="Seed for sampling and the meta-learner."),
    probe_imputers: bool = typer.Option(
        False, "--probe-imputers",
        help="Where values are missing, cross-validate every imputer on the data itself (3-fold "
        "CV twice on up to 1,000 rows and 30 columns, at most --probe-budget seconds per "
        "estimator family, cheap imputers first) and choose from that.",
    ),
    probe_budget: float | None = typer.Option(
        None, "--probe-budget", min=0.1, show_default=False,
        help="Seconds --probe-imputers may spend per estimator family (default 15); the "
        "imputers it had no time for are named.",
    ),
) -> None:
    """Recommend algorithms, hyperparameters and imputation for DATA."""
    if data.is_dir():
        _image_folder(data, as_json)
        return
    from metarec import kb as kb_module
    from metarec.io import load_dataset
    from metarec.recommend import recommend as run

    dataset = load_dataset(data, target, **options.read_options(strict, lenient, encoding, sep))
    knowledge = kb_module.load(kb)
    if probe_imputers and not as_json:
        from rich.console import Console

        with Console(stderr=True).status("Profiling, ranking and probing imputers..."):
            report = run(dataset, knowledge, top_k=top, random_state=seed, probe_imputers=True,
                         probe_budget_s=probe_budget)
    else:
        report = run(dataset, knowledge, top_k=top, random_state=seed,
                     probe_imputers=probe_imputers, probe_budget_s=probe_budget)
    if plot is not None:
        from metarec.recommend.plotting import plot_report

        written = plot_report(report, plot)
        # stderr, so that --json keeps stdout one JSON object
        typer.echo(f"plot written to {written.resolve()}", err=True)
    if as_json:
        from metarec.cli.render import dumps

        typer.echo(dumps(report.to_dict()))
        return
    for note in report.notes:
        warn(note)
    _print_report(report)


def _interval(rec: dict[str, Any]) -> str:
    return f"{rec['predicted_score']:.3f}\n({rec['lower']:.3f}–{rec['upper']:.3f})"


def _rmse_interval(rec: dict[str, Any]) -> str:
    rmse = rec["rmse"]
    return f"{rmse['predicted']:.4g}\n({rmse['lower']:.4g}–{rmse['upper']:.4g})"


def _seconds(value: float | None) -> str:
    if value is None:
        return "—"
    if value < 0.1:
        return "< 0.1 s"  # at this scale the prediction's error is larger than the figure
    if value < 60:
        return f"{value:.2g} s" if value < 10 else f"{value:.0f} s"
    if value < 3600:
        return f"{value / 60:.1f} min"
    return f"{value / 3600:.1f} h"


FIT_TIME_NOTE = ("fit time = predicted time of one fit on a table of this size, from the knowledge "
                 "base's recorded fit times (imputation not included)")


def _print_report(report: Any) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from metarec.recommend.record import format_hyperparameters

    console = Console()
    evidence = report.evidence
    with_rmse = all("rmse" in rec for rec in report.recommendations) and report.recommendations
    low, high = evidence.score_range
    clipped = (f", clipped to [{low:g}, {high:g}]" if math.isfinite(low) and math.isfinite(high)
               else f", clipped at {low:g}" if math.isfinite(low) else "")
    table = Table(
        title=f"{report.dataset}: {report.task}, target {report.target!r}",
        caption=f"learned from {evidence.n_datasets} datasets x {evidence.n_configurations} "
        f"configurations ({evidence.source}); score = {evidence.score_name}, (range) = ± one "
        f"standard deviation{clipped}. {escape(report.ranking.get('why', ''))} {FIT_TIME_NOTE}"
        + (f"; RMSE = the target's standard deviation "
           f"({report.recommendations[0]['rmse']['target_std']:.4g}) x sqrt(1 - R²)"
           if with_rmse else ""),
    )
    # Cells wrap (and fold a long word) instead of cutting it off with an ellipsis: a cut value
    # can hide the very difference between two rows.
    for column, justify, widest in (
        ("rank", "right", None),
        ("algorithm", "left", 13),
        ("imputer", "left", 9),
        ("hyperparameters (those that differ first)", "left", None),
        # as wide as "predicted score": "(range)" wraps rather than widening the column
        ("predicted score (range)", "right", 13),
        *((("RMSE in target units", "right", 13),) if with_rmse else ()),
        ("fit time", "right", None),
    ):
        # the figures keep their width (a range cut inside its brackets reads as noise); the
        # hyperparameters give way on a narrow terminal
        table.add_column(column, justify=justify, overflow="fold", max_width=widest,
                         min_width=widest)
    shown = format_hyperparameters(report.recommendations)
    for rec, hyper in zip(report.recommendations, shown, strict=True):
        table.add_row(
            str(rec["rank"]),
            rec["algorithm"],
            escape(rec["imputer"]),
            escape("\n".join(hyper)),
            _interval(rec),
            *((_rmse_interval(rec),) if with_rmse else ()),
            _seconds(rec.get("predicted_fit_seconds")),
        )
    console.print(table)
    if report.candidate_set:
        trial = Table(
            title=f"Try these {len(report.candidate_set)} first",
            caption="the configurations that together came closest to every knowledge-base "
            "dataset's best (greedy portfolio), in the meta-learner's order; expected best = "
            f"the best {evidence.score_name} expected after trying up to that one (nearest "
            "knowledge-base datasets)",
        )
        for column, justify in (("try", "right"), ("algorithm", "left"), ("imputer", "left"),
                                ("hyperparameters (those that differ first)", "left"),
                                ("expected best", "right"), ("fit time", "right")):
            trial.add_column(column, justify=justify, overflow="fold")
        shown = format_hyperparameters(report.candidate_set)
        for rec, hyper in zip(report.candidate_set, shown, strict=True):
            best = rec["expected_best"]
            trial.add_row(str(rec["rank"]), rec["algorithm"], escape(rec["imputer"]),
                          escape("\n".join(hyper)),
                          "—" if best is None else f"{best:.3f}",
                          _seconds(rec.get("predicted_fit_seconds")))
        console.print(trial)
    for family, measured in (report.imputer_probes or {}).items():
        scores = sorted(((v, k) for k, v in measured["scores"].items() if v is not None),
                        reverse=True)
        line = (f"Imputers measured with {family.replace('_', ' ')} ({measured['n_folds']}-fold "
                f"CV x {measured['n_repeats']} on {measured['n_rows']} rows x "
                f"{measured['n_features']} columns, {measured['seconds']:.1f} s): "
                + (", ".join(f"{name} {value:.3f}" for value, name in scores) or "none"))
        if measured.get("not_measured"):
            line += (f"; not measured within the {measured['budget_s']:g} s budget: "
                     + ", ".join(measured["not_measured"]))
        if measured.get("inconclusive"):
            line += (f"; inconclusive: all measured imputers within {measured['tie_band']:g} of "
                     "each other, so the meta-feature model chose")
        console.print(escape(line))
    near = Table(title="Most similar datasets in the knowledge base")
    for column in ("dataset", "distance", "best there", "its score"):
        near.add_column(column)
    for n in report.neighbours:
        name = n["name"] or n["dataset_id"]
        if n["openml_did"] is not None:
            name += f" (OpenML {n['openml_did']})"
        near.add_row(name, f"{n['distance']:.3f}", n["best_algorithm"], f"{n['best_score']:.3f}")
    console.print(near)
    ood = report.out_of_distribution
    if ood["flag"]:
        console.print(
            f"[bold yellow]Warning:[/] this dataset is unlike anything in the knowledge base "
            f"(distance {ood['distance']:.3f}, threshold {ood['threshold']:.3f}); the predicted "
            "scores are less reliable."
        )


def _image_folder(folder: Path, as_json: bool) -> None:
    from metarec.recommend.images import image_task

    answer = image_task(folder)
    if as_json:
        from metarec.cli.render import dumps

        typer.echo(dumps(answer))
        return
    typer.echo(
        f"{folder} holds images, one folder per class: this is an image few-shot task, which "
        "metarec answers with its neural few-shot learner (a prototypical network trained on "
        "Omniglot) rather than a tabular pipeline.\nClassify new images with:\n  "
        f"{answer['recommendations'][0]['command']}"
    )
