"""Few-shot learning from an image folder, end to end: what ``metarec fewshot train|evaluate``
run, callable from Python with the same defaults.

The command line only parses its options, shows progress and renders the dictionaries returned
here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from metarec.errors import DataError

METHOD_NAMES = ("protonet", "matching", "siamese", "maml")
VALIDATION_SPLITS = ("auto", "alphabets", "classes", "characters")


def set_threads(threads: int | None) -> None:
    """Let torch use ``threads`` CPU threads (None: torch's default)."""
    if threads is None:
        return
    if threads < 1:
        raise DataError(f"`threads` must be at least 1, not {threads}.", parameters=("threads",))
    import torch

    torch.set_num_threads(threads)


def _sources(data: str | Path | Sequence[str | Path]) -> list[str | Path]:
    return [data] if isinstance(data, (str, Path)) else list(data)


def train_on_images(
    data: str | Path | Sequence[str | Path], output: str | Path, config: Any, *,
    val_split: str = "auto", val_fraction: float = 0.15, val_alphabets: list[str] | None = None,
    exclude_alphabets: list[str] | None = None, image_size: int = 28,
    mixed_sizes: bool = False, overwrite: bool = False,
    on_message: Callable[[str], None] | None = None,
    on_step: Callable[[int], None] | None = None, on_epoch: Callable[[Any], None] | None = None,
) -> dict[str, Any]:
    """Meta-train ``config`` (a :class:`metarec.fewshot.train.TrainConfig`) on the images in
    ``data`` (a zip or folder: class/*.png or alphabet/class/*.png; or several, read as one by
    :func:`metarec.fewshot.data.load_image_sets`) and save the weights that validate best to
    ``output``.

    ``exclude_alphabets`` (group folders) are dropped first, e.g. the alphabets a model is to be
    tested on. Validation classes: ``val_alphabets`` when given, else ``val_split`` with
    ``val_fraction`` (see :func:`metarec.fewshot.data.validation_split`). Returns the summary
    ``metarec fewshot train --json`` prints."""
    from metarec.fewshot.data import load_image_sets, split_by_groups, validation_split
    from metarec.fewshot.device import keep_freed_memory, select_device
    from metarec.fewshot.train import train

    if config.method not in METHOD_NAMES:
        raise DataError(f"unknown `method` {config.method!r}; choose one of "
                        f"{', '.join(METHOD_NAMES)}.", parameters=("method",))
    output = Path(output)
    if output.exists() and not overwrite:
        raise DataError(f"{output} already exists; pass `overwrite=True` to replace it.",
                        parameters=("overwrite",))
    if val_split not in VALIDATION_SPLITS:
        raise DataError(f"`val_split` must be one of {', '.join(VALIDATION_SPLITS)}, "
                        f"not {val_split!r}.", parameters=("val_split",))
    select_device(config.device)  # before minutes of reading, not after
    say = on_message or (lambda _text: None)
    # A training process is short-lived and allocates the same large buffers every step.
    keep_freed_memory()
    sources = _sources(data)
    say(f"Reading {', '.join(str(source) for source in sources)} ...")
    dataset = load_image_sets(sources, image_size, mixed_sizes=mixed_sizes)
    if exclude_alphabets:
        dataset = split_by_groups(dataset, list(exclude_alphabets))[0]
    if val_alphabets:
        train_set, val_set = split_by_groups(dataset, list(val_alphabets))
        how = f"alphabets held out for validation: {', '.join(val_alphabets)}"
    else:
        train_set, val_set, how = validation_split(dataset, val_fraction, config.seed, val_split)
    say(f"{train_set.n_classes} training classes, {val_set.n_classes} validation ({how})")
    meta = {
        "data": ", ".join(Path(source).name for source in sources),
        "validation": how,
        # Which alphabets the weights have seen: a test on any of them would flatter the model.
        "train_alphabets": train_set.group_names(),
        "val_alphabets": val_set.group_names(),
    }
    result = train(config, train_set, val_set, output, meta, on_step=on_step, on_epoch=on_epoch)
    return {
        "model": str(output),
        "method": config.method,
        "device": result.device,
        "episodes": result.episodes,
        "seconds": round(result.seconds, 1),
        "cpu_seconds": round(result.cpu_seconds, 1),
        "best_epoch": result.best_epoch,
        "validation": {**result.best_val.as_dict(), "split": how},
        "history": [asdict(record) for record in result.history],
    }


def evaluate_on_images(
    data: str | Path | Sequence[str | Path], model: str | Path | None = None, *, ways: int = 5,
    shots: int = 1,
    queries: int = 15, episodes: int = 1000, alphabets: list[str] | None = None,
    exclude_alphabets: list[str] | None = None, mixed_sizes: bool = False, seed: int = 0,
    views: int = 1, transductive: bool = False, device: str = "auto",
    on_episode: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """N-way K-shot accuracy of ``model`` (default: the shipped one) on the classes in ``data``,
    with a 95% confidence interval over ``episodes`` test episodes. ``alphabets`` keeps only those
    group folders, ``exclude_alphabets`` drops them. Returns what ``metarec fewshot evaluate
    --json`` prints (``accuracy``, ``ci95``, ...). ``transductive`` refines each episode's
    prototypes with its queries (protonet only), a different protocol: report it apart."""
    from metarec.fewshot.checkpoint import load_checkpoint
    from metarec.fewshot.data import load_image_sets, split_by_groups
    from metarec.fewshot.device import amp_dtype, select_device
    from metarec.fewshot.evaluate import evaluate
    from metarec.fewshot.predict import default_model_path

    target = select_device(device)
    model_path = Path(model) if model is not None else default_model_path()
    network, _meta = load_checkpoint(model_path, target)
    sources = _sources(data)
    dataset = load_image_sets(sources, network.image_size, mixed_sizes=mixed_sizes)
    if alphabets:
        dataset = split_by_groups(dataset, list(alphabets))[1]
    if exclude_alphabets:
        dataset = split_by_groups(dataset, list(exclude_alphabets))[0]
    accuracy = evaluate(
        network, dataset, ways, shots, queries, episodes, seed, target,
        amp_dtype(target) if network.name != "maml" else None, on_episode=on_episode,
        views=views, transductive=transductive,
    )
    return {
        "model": str(model_path),
        "method": network.name,
        "data": ", ".join(str(source) for source in sources),
        "classes": dataset.n_classes,
        "alphabets": dataset.group_names(),
        "ways": ways,
        "shots": shots,
        "queries": queries,
        "views": views,
        "transductive": transductive,
        **accuracy.as_dict(),
    }
