"""``metarec fewshot train|evaluate|predict``: few-shot learning on image folders.

torch and metarec.fewshot's heavy modules are imported inside the command bodies, so that
``metarec --help`` never pays for them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from metarec.cli.errors import handle_errors
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

app = typer.Typer(no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)

def _stderr() -> Console:
    return Console(stderr=True)


def _progress(console: Console) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )


def _check_device(device: str) -> None:
    """Refuse a wrong --device before the progress bar starts: an error raised inside it is
    printed after the bar's blank line, not as the one line bad input gets."""
    from metarec.fewshot.device import select_device

    select_device(device)


def _names(text: str | None) -> list[str]:
    return [name.strip() for name in text.split(",") if name.strip()] if text else []


@app.command("train")
@handle_errors
def train(
    data: list[Path] = typer.Option(
        ..., "--data", help="Zip or folder: class/*.png or alphabet/class/*.png. Repeat to read "
        "several as one (a class in more than one is one class)."
    ),
    method: str = typer.Option("protonet", help="protonet, matching, siamese or maml."),
    ways: int = typer.Option(20, "--ways", help="Classes per training episode (N)."),
    shots: int = typer.Option(1, "--shots", help="Labelled examples per class (K)."),
    queries: int = typer.Option(5, "--queries", help="Query images per class per episode."),
    episodes: int = typer.Option(2000, help="Training episodes in total."),
    epoch_episodes: int = typer.Option(200, help="Episodes between validations (one epoch)."),
    val_way: int = typer.Option(5, help="Ways of the validation episodes."),
    val_episodes: int = typer.Option(200, help="Validation episodes per epoch."),
    val_fraction: float = typer.Option(0.15, help="Share of classes held out for validation."),
    val_split: str = typer.Option(
        "auto",
        help="auto, alphabets, classes (random over all) or characters (about --val-fraction "
        "of every alphabet's classes).",
    ),
    val_alphabets: str | None = typer.Option(
        None, help="Comma-separated alphabets (group folders) to validate on; overrides the split."
    ),
    exclude_alphabets: str | None = typer.Option(
        None, help="Comma-separated alphabets to leave out of training and validation (the ones "
        "you will test on)."
    ),
    lr: float = typer.Option(1e-3, help="Adam learning rate."),
    lr_halve_every: int = typer.Option(2000, help="Halve the learning rate every N episodes."),
    meta_batch: int | None = typer.Option(None, help="Episodes per optimiser step."),
    first_order: bool = typer.Option(False, "--first-order", help="MAML: first-order updates."),
    inner_lr: float = typer.Option(0.4, help="MAML: inner-loop step size."),
    inner_steps: int = typer.Option(1, help="MAML: inner-loop steps in training."),
    eval_inner_steps: int = typer.Option(3, help="MAML: inner-loop steps in evaluation."),
    rotations: bool = typer.Option(True, help="Rotations by 90/180/270 degrees as new classes."),
    mirrors: bool = typer.Option(
        False, help="Left-right mirrored classes (and their rotations) as new classes."
    ),
    augment: bool = typer.Option(
        False, help="Random small shifts, rotations, scalings and shears of training images."
    ),
    image_size: int = typer.Option(28, help="Side of the square network input, in pixels."),
    hidden: int = typer.Option(64, help="Filters of each conv layer (the backbone's width)."),
    mixed_sizes: bool = typer.Option(False, "--mixed-sizes", help="Accept images of mixed sizes."),
    seed: int = typer.Option(0, help="Random seed (model, episodes, split)."),
    device: str = typer.Option("auto", help="auto (CUDA > MPS > CPU), cuda, mps or cpu."),
    threads: int | None = typer.Option(None, help="CPU threads for torch."),
    max_minutes: float | None = typer.Option(None, help="Stop after the epoch that passes this."),
    max_cpu_minutes: float | None = typer.Option(
        None, help="Stop after the epoch whose process CPU time passes this."
    ),
    output: Path = typer.Option(Path("fewshot_model.pt"), "--output", "-o", help="Checkpoint."),
    force: bool = typer.Option(False, "--force", help="Overwrite --output if it exists."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Meta-train a few-shot model; keep the weights that validate best."""
    from metarec.fewshot import require_extra

    require_extra()
    from metarec.fewshot.train import TrainConfig
    from metarec.fewshot.workflow import set_threads, train_on_images

    set_threads(threads)
    _check_device(device)
    options: dict[str, Any] = {"hidden": hidden}
    if method == "maml":
        options |= {
            "inner_lr": inner_lr,
            "inner_steps": inner_steps,
            "eval_inner_steps": eval_inner_steps,
            "first_order": first_order,
        }
    config = TrainConfig(
        method=method, n_way=ways, k_shot=shots, n_query=queries, episodes=episodes,
        epoch_episodes=epoch_episodes, val_way=val_way, val_episodes=val_episodes, lr=lr,
        lr_halve_every=lr_halve_every, meta_batch=meta_batch, rotations=rotations,
        augment=augment, mirrors=mirrors, seed=seed,
        device=device, time_limit_s=None if max_minutes is None else 60 * max_minutes,
        cpu_time_limit_s=None if max_cpu_minutes is None else 60 * max_cpu_minutes,
        method_options=options,
    )  # fmt: skip
    console = _stderr()
    with _progress(console) as progress:
        task = progress.add_task(f"training {method}", total=episodes)

        def on_epoch(record: Any) -> None:
            progress.console.print(
                f"epoch {record.epoch:3d}  episodes {record.episodes:6d}  "
                f"loss {record.train_loss:.3f}  train acc {100 * record.train_accuracy:5.1f}%  "
                f"val acc {100 * record.val_accuracy:5.1f} ± {100 * record.val_ci95:.1f}%"
                f"{'  *saved' if record.best else ''}  {record.seconds:.0f}s "
                f"(cpu {record.cpu_seconds:.0f}s)"
            )

        summary = train_on_images(
            data, output, config, val_split=val_split, val_fraction=val_fraction,
            val_alphabets=_names(val_alphabets), exclude_alphabets=_names(exclude_alphabets),
            image_size=image_size, mixed_sizes=mixed_sizes,
            overwrite=force, on_message=progress.console.print,
            on_step=lambda done: progress.update(task, completed=done), on_epoch=on_epoch,
        )  # fmt: skip
    if as_json:
        from metarec.cli.render import dumps

        print(dumps(summary))
    else:
        best = summary["validation"]
        print(
            f"Saved {output}: best validation accuracy {_percent(best)} (epoch "
            f"{summary['best_epoch']}), {summary['episodes']} episodes in "
            f"{summary['seconds']:.0f}s ({summary['cpu_seconds']:.0f}s CPU) on "
            f"{summary['device']}."
        )


def _percent(accuracy: dict[str, Any]) -> str:
    return f"{100 * accuracy['accuracy']:.1f} ± {100 * accuracy['ci95']:.1f} %"


@app.command("evaluate")
@handle_errors
def evaluate(
    data: list[Path] = typer.Option(
        ..., "--data", help="Zip or folder of classes never trained on; repeat to read several."
    ),
    model: Path | None = typer.Option(None, "--model", help="Checkpoint (default: shipped)."),
    ways: int = typer.Option(5, "--ways", help="Classes per episode (N)."),
    shots: int = typer.Option(1, "--shots", help="Labelled examples per class (K)."),
    queries: int = typer.Option(15, "--queries", help="Query images per class per episode."),
    episodes: int = typer.Option(1000, help="Test episodes (at least 1,000 for a tight CI)."),
    alphabets: str | None = typer.Option(None, help="Comma-separated alphabets to use only."),
    exclude_alphabets: str | None = typer.Option(None, help="Comma-separated alphabets to skip."),
    mixed_sizes: bool = typer.Option(False, "--mixed-sizes", help="Accept images of mixed sizes."),
    seed: int = typer.Option(0, help="Seed of the test episodes."),
    views: int = typer.Option(
        1, help="Average each image's embedding over this many views (metric methods)."
    ),
    transductive: bool = typer.Option(
        False, "--transductive", help="Refine each episode's prototypes with its queries "
        "(protonet; uses the query set, so report it apart)."
    ),
    device: str = typer.Option("auto", help="auto (CUDA > MPS > CPU), cuda, mps or cpu."),
    threads: int | None = typer.Option(None, help="CPU threads for torch."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """N-way K-shot accuracy with a 95% confidence interval over test episodes."""
    from metarec.fewshot import require_extra

    require_extra()
    from metarec.fewshot.workflow import evaluate_on_images, set_threads

    set_threads(threads)
    _check_device(device)
    console = _stderr()
    with _progress(console) as progress:
        task = progress.add_task(f"{ways}-way {shots}-shot", total=episodes)
        result = evaluate_on_images(
            data, model, ways=ways, shots=shots, queries=queries, episodes=episodes,
            alphabets=_names(alphabets), exclude_alphabets=_names(exclude_alphabets),
            mixed_sizes=mixed_sizes, seed=seed, views=views, transductive=transductive,
            device=device,
            on_episode=lambda done: progress.update(task, completed=done),
        )  # fmt: skip
    if as_json:
        from metarec.cli.render import dumps

        print(dumps(result))
    else:
        how = ", transductive" if transductive else ""
        print(
            f"{ways}-way {shots}-shot accuracy of {result['method']} on {result['classes']} "
            f"classes: {_percent(result)} (95% CI, {episodes} episodes{how})."
        )


@app.command("predict")
@handle_errors
def predict(
    support: Path = typer.Option(..., "--support", help="Folder with one sub-folder per class."),
    query: Path = typer.Option(..., "--query", help="Folder of images to classify."),
    model: Path | None = typer.Option(None, "--model", help="Checkpoint (default: shipped)."),
    mixed_sizes: bool = typer.Option(False, "--mixed-sizes", help="Accept images of mixed sizes."),
    views: int | None = typer.Option(
        None, help="Average each image's embedding over this many views (default: 8 for "
        "metric methods, 1 for MAML)."
    ),
    transductive: bool = typer.Option(
        False, "--transductive", help="Refine the class prototypes with all the query images "
        "(protonet): for a batch of queries of the support's classes."
    ),
    device: str = typer.Option("auto", help="auto (CUDA > MPS > CPU), cuda, mps or cpu."),
    as_json: bool = typer.Option(False, "--json", help="Print {query file: class} as JSON."),
) -> None:
    """Classify each query image as one of the support folder's classes."""
    from metarec.fewshot import require_extra

    require_extra()
    from metarec.fewshot.predict import predict as run_prediction

    predictions = run_prediction(support, query, model, device, mixed_sizes, views, transductive)
    if as_json:
        from metarec.cli.render import dumps

        print(dumps(predictions))
        return
    table = Table("query image", "predicted class")
    for name, label in predictions.items():
        table.add_row(name, label)
    Console().print(table)
