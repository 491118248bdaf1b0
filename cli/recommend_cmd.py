"""``metarec recommend``: ranked pipelines for a dataset, with the evidence behind them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from metarec.cli import options
from metarec.cli.errors import handle_errors, warn

KEY_HYPERPARAMETERS = 3


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
        "CV twice on up to 1,000 rows and 30 columns, a few seconds per estimator family) and "
        "choose from that.",
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
            report = run(dataset, knowledge, top_k=top, random_state=seed, probe_imputers=True)
    else:
        report = run(dataset, knowledge, top_k=top, random_state=seed,
                     probe_imputers=probe_imputers)
    if plot is not None:
        from metarec.recommend.plotting import plot_report

        plot_report(report, plot)
    if as_json:
        from metarec.cli.render import dumps

        typer.echo(dumps(report.to_dict()))
        return
    for note in report.notes:
        warn(note)
    _print_report(report)


def _short(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _seconds(value: float | None) -> str:
    if value is None:
        return "—"
    if value < 60:
        return f"{value:.2g} s" if value < 10 else f"{value:.0f} s"
    if value < 3600:
        return f"{value / 60:.1f} min"
    return f"{value / 3600:.1f} h"


FIT_TIME_NOTE = ("fit time = predicted time of one fit on a table of this size, from the knowledge "
                 "base's recorded fit times (imputation not included)")


def _print_report(report: Any) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    evidence = report.evidence
    table = Table(
        title=f"{report.dataset}: {report.task}, target {report.target!r}",
        caption=f"learned from {evidence.n_datasets} datasets x {evidence.n_configurations} "
        f"configurations ({evidence.source}); score = {evidence.score_name}; {FIT_TIME_NOTE}",
    )
    for column, justify in (
        ("rank", "right"),
        ("algorithm", "left"),
        ("imputer", "left"),
        ("key hyperparameters", "left"),
        ("predicted score", "right"),
        ("fit time", "right"),
    ):
        # Figures stay on one line; the hyperparameters wrap on a narrow terminal instead.
        table.add_column(column, justify=justify, no_wrap=justify == "right")
    for rec in report.recommendations:
        hyper = ", ".join(
            f"{k}={_short(v)}"
            for k, v in list(rec["hyperparameters"].items())[:KEY_HYPERPARAMETERS]
        )
        table.add_row(
            str(rec["rank"]),
            rec["algorithm"],
            rec["imputer"],
            hyper,
            f"{rec['predicted_score']:.3f} ± {rec['uncertainty']:.3f}",
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
                                ("key hyperparameters", "left"),
                                ("expected best", "right"), ("fit time", "right")):
            trial.add_column(column, justify=justify, no_wrap=justify == "right")
        for rec in report.candidate_set:
            hyper = ", ".join(f"{k}={_short(v)}" for k, v in
                              list(rec["hyperparameters"].items())[:KEY_HYPERPARAMETERS])
            best = rec["expected_best"]
            trial.add_row(str(rec["rank"]), rec["algorithm"], rec["imputer"], hyper,
                          "—" if best is None else f"{best:.3f}",
                          _seconds(rec.get("predicted_fit_seconds")))
        console.print(trial)
    for family, measured in (report.imputer_probes or {}).items():
        scores = sorted(((v, k) for k, v in measured["scores"].items() if v is not None),
                        reverse=True)
        console.print(
            f"Imputers measured with {family.replace('_', ' ')} ({measured['n_folds']}-fold CV "
            f"x {measured['n_repeats']} on {measured['n_rows']} rows x "
            f"{measured['n_features']} columns, "
            f"{measured['seconds']:.1f} s): "
            + ", ".join(f"{name} {value:.3f}" for value, name in scores)
        )
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
