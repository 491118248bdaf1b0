"""``metarec fewshot train|evaluate|predict``: few-shot learning on image folders.

torch and metarec.fewshot's heavy modules are imported inside the command bodies, so that
``metarec --help`` never pays for them.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

import typer
from metarec.cli.errors import handle_errors
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from metarec.errors import DataError

app = typer.Typer(no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)

METHOD_NAMES = ("protonet", "matching", "siamese", "maml")


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


def _names(text: str | None) -> list[str]:
    return [name.strip() for name in text.split(",") if name.strip()] if text else []


def _set_threads(threads: int | None) -> None:
    if threads is not None:
        import torch

        if threads < 1:
            raise DataError("--threads must be at least 1")
        torch.set_num_threads(threads)


@app.command("train")
@handle_errors
def train(
    data: Path = typer.Option(
        ..., "--data", help="Zip or folder: class/*.png or alphabet/class/*.png."
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
    if method not in METHOD_NAMES:
        raise DataError(f"unknown method {method!r}; choose one of {', '.join(METHOD_NAMES)}")
    if output.exists() and not force:
        raise DataError(f"{output} already exists; pass --force to overwrite it")
    if val_split not in {"auto", "alphabets", "classes", "characters"}:
        raise DataError("--val-split must be auto, alphabets, classes or characters")
    _set_threads(threads)
    from metarec.fewshot.data import load_image_set, split_by_groups, validation_split
    from metarec.fewshot.device import keep_freed_memory
    from metarec.fewshot.train import TrainConfig
    from metarec.fewshot.train import train as run_training

    # A training process is short-lived and allocates the same large buffers every step.
    keep_freed_memory()
    console = _stderr()
    console.print(f"Reading {data} ...")
    dataset = load_image_set(data, image_size, mixed_sizes=mixed_sizes)
    if val_alphabets:
        train_set, val_set = split_by_groups(dataset, _names(val_alphabets))
        how = f"alphabets held out for validation: {val_alphabets}"
    else:
        train_set, val_set, how = validation_split(dataset, val_fraction, seed, val_split)
    console.print(f"{train_set.n_classes} training classes, {val_set.n_classes} validation ({how})")
    options: dict[str, Any] = {}
    if method == "maml":
        options = {
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
    meta = {"data": Path(data).name, "validation": how}
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

        result = run_training(
            config, train_set, val_set, output, meta,
            on_step=lambda done: progress.update(task, completed=done), on_epoch=on_epoch,
        )  # fmt: skip
    summary = {
        "model": str(output),
        "method": method,
        "device": result.device,
        "episodes": result.episodes,
        "seconds": round(result.seconds, 1),
        "cpu_seconds": round(result.cpu_seconds, 1),
        "best_epoch": result.best_epoch,
        "validation": {**result.best_val.as_dict(), "split": how},
        "history": [asdict(record) for record in result.history],
    }
    if as_json:
        from metarec.cli.render import dumps

        print(dumps(summary))
    else:
        print(
            f"Saved {output}: best validation accuracy {result.best_val} (epoch "
            f"{result.best_epoch}), {result.episodes} episodes in {result.seconds:.0f}s "
            f"({result.cpu_seconds:.0f}s CPU) on "
            f"{result.device}."
        )


@app.command("evaluate")
@handle_errors
def evaluate(
    data: Path = typer.Option(..., "--data", help="Zip or folder of classes never trained on."),
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
    device: str = typer.Option("auto", help="auto (CUDA > MPS > CPU), cuda, mps or cpu."),
    threads: int | None = typer.Option(None, help="CPU threads for torch."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """N-way K-shot accuracy with a 95% confidence interval over test episodes."""
    _set_threads(threads)
    from metarec.fewshot.checkpoint import load_checkpoint
    from metarec.fewshot.data import load_image_set, split_by_groups
    from metarec.fewshot.device import amp_dtype, select_device
    from metarec.fewshot.evaluate import evaluate as run_evaluation
    from metarec.fewshot.predict import default_model_path

    target = select_device(device)
    model_path = model or default_model_path()
    network, meta = load_checkpoint(model_path, target)
    dataset = load_image_set(data, network.image_size, mixed_sizes=mixed_sizes)
    if alphabets:
        dataset = split_by_groups(dataset, _names(alphabets))[1]
    if exclude_alphabets:
        dataset = split_by_groups(dataset, _names(exclude_alphabets))[0]
    console = _stderr()
    with _progress(console) as progress:
        task = progress.add_task(f"{ways}-way {shots}-shot", total=episodes)
        accuracy = run_evaluation(
            network, dataset, ways, shots, queries, episodes, seed, target,
            amp_dtype(target) if network.name != "maml" else None,
            on_episode=lambda done: progress.update(task, completed=done), views=views,
        )  # fmt: skip
    result = {
        "model": str(model_path),
        "method": network.name,
        "data": str(data),
        "classes": dataset.n_classes,
        "alphabets": dataset.group_names(),
        "ways": ways,
        "shots": shots,
        "queries": queries,
        "views": views,
        **accuracy.as_dict(),
    }
    if as_json:
        from metarec.cli.render import dumps

        print(dumps(result))
    else:
        print(
            f"{ways}-way {shots}-shot accuracy of {network.name} on {dataset.n_classes} classes: "
            f"{accuracy} (95% CI, {episodes} episodes)."
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
    device: str = typer.Option("auto", help="auto (CUDA > MPS > CPU), cuda, mps or cpu."),
    as_json: bool = typer.Option(False, "--json", help="Print {query file: class} as JSON."),
) -> None:
    """Classify each query image as one of the support folder's classes."""
    from metarec.fewshot.predict import predict as run_prediction

    predictions = run_prediction(support, query, model, device, mixed_sizes, views)
    if as_json:
        from metarec.cli.render import dumps

        print(dumps(predictions))
        return
    table = Table("query image", "predicted class")
    for name, label in predictions.items():
        table.add_row(name, label)
    Console().print(table)
