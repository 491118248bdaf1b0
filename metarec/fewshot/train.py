"""One episodic training loop for every method, with validation-based checkpointing."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from metarec.errors import DataError
from metarec.fewshot.checkpoint import save_checkpoint
from metarec.fewshot.data import EpisodeSampler, ImageSet
from metarec.fewshot.device import amp_dtype, autocast, select_device
from metarec.fewshot.evaluate import Accuracy, episode_to, evaluate
from metarec.fewshot.methods import METHODS, FewShotMethod, build_method


@dataclass
class TrainConfig:
    method: str = "protonet"
    n_way: int = 20
    k_shot: int = 1
    n_query: int = 5
    episodes: int = 2000
    epoch_episodes: int = 200
    val_way: int = 5
    val_shot: int | None = None  # None: the training shots
    val_episodes: int = 200
    lr: float = 1e-3
    # Halve the learning rate every this many episodes (Snell et al. use 2,000); 0 keeps it fixed.
    lr_halve_every: int = 2000
    meta_batch: int | None = None  # None: the method's default
    rotations: bool = True
    augment: bool = False  # random affine distortions of training images
    mirrors: bool = False  # left-right mirrored classes as new classes
    seed: int = 0
    device: str = "auto"
    time_limit_s: float | None = None  # wall clock; checked after each epoch
    cpu_time_limit_s: float | None = None  # this process's CPU time; checked after each epoch
    method_options: dict[str, Any] = field(default_factory=dict)


@dataclass
class EpochRecord:
    epoch: int
    episodes: int
    train_loss: float
    train_accuracy: float
    val_accuracy: float
    val_ci95: float
    seconds: float
    cpu_seconds: float  # this process's CPU time: comparable on a machine shared with others
    best: bool


@dataclass
class TrainResult:
    model: FewShotMethod
    history: list[EpochRecord]
    best_val: Accuracy
    best_epoch: int
    episodes: int
    seconds: float
    cpu_seconds: float
    device: str


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def _over(limit: float | None, used: float) -> bool:
    return limit is not None and used > limit


def _check_config(config: TrainConfig, train_set: ImageSet, val_set: ImageSet) -> None:
    if config.method not in METHODS:
        raise DataError(f"unknown method {config.method!r}; choose one of {', '.join(METHODS)}")
    if config.episodes < 1 or config.epoch_episodes < 1:
        raise DataError("`episodes` and `epoch_episodes` must be at least 1",
                        parameters=("episodes", "epoch_episodes"))
    if val_set.n_classes < 2:
        raise DataError("the validation split has fewer than 2 classes; use more data")


def train(
    config: TrainConfig,
    train_set: ImageSet,
    val_set: ImageSet,
    checkpoint_path: str | Path,
    meta: dict[str, Any] | None = None,
    on_step: Callable[[int], None] | None = None,
    on_epoch: Callable[[EpochRecord], None] | None = None,
) -> TrainResult:
    """Meta-train ``config.method``; keep (and write) the weights that validate best.

    ``on_step`` is called with the number of episodes done; ``on_epoch`` after each validation.
    Returns the best model, already loaded with the best weights.
    """
    _check_config(config, train_set, val_set)
    seed_everything(config.seed)
    device = select_device(config.device)
    amp = amp_dtype(device)
    if config.method == "maml" and amp == torch.float16:
        amp = None  # inner-loop gradients underflow in float16 without their own loss scaling
    image_size = int(train_set.images[0].shape[-1])
    model = build_method(config.method, image_size=image_size, **config.method_options).to(device)
    meta_batch = config.meta_batch or model.default_meta_batch
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    halve_steps = max(1, config.lr_halve_every // meta_batch) if config.lr_halve_every else 0
    scheduler = (
        torch.optim.lr_scheduler.StepLR(optimizer, step_size=halve_steps, gamma=0.5)
        if halve_steps
        else None
    )
    scaler = torch.amp.GradScaler(device.type, enabled=amp == torch.float16)
    sampler = EpisodeSampler(
        train_set, config.n_way, config.k_shot, config.n_query, config.rotations, config.seed,
        augment=config.augment, mirrors=config.mirrors,
    )  # fmt: skip
    val_way = min(config.val_way, val_set.n_classes)
    val_shot = config.val_shot or config.k_shot
    base_meta = {
        **(meta or {}),
        "train_config": asdict(config),
        "train_classes": train_set.n_classes,
        "val_classes": val_set.n_classes,
    }

    history: list[EpochRecord] = []
    best: Accuracy | None = None
    best_state: dict[str, torch.Tensor] = {}
    best_epoch, done, epoch = 0, 0, 0
    started, cpu_started = time.perf_counter(), time.process_time()
    while done < config.episodes:
        epoch += 1
        model.train()
        losses, accuracies = [], []
        epoch_end = min(config.episodes, done + config.epoch_episodes)
        while done < epoch_end:
            optimizer.zero_grad(set_to_none=True)
            for _ in range(min(meta_batch, epoch_end - done)):
                episode = episode_to(sampler.sample(), device)
                with autocast(device, amp):
                    loss, logits = model.episode_loss(
                        episode.support,
                        episode.support_labels,
                        episode.query,
                        episode.query_labels,
                        episode.n_way,
                    )
                scaler.scale(loss / meta_batch).backward()
                losses.append(loss.item())
                accuracies.append((logits.argmax(1) == episode.query_labels).float().mean().item())
                done += 1
            scaler.step(optimizer)
            scaler.update()
            if scheduler is not None:
                scheduler.step()
            if on_step is not None:
                on_step(done)
        # Fixed seed: every epoch is validated on the same episodes, so epochs are comparable.
        val = evaluate(
            model,
            val_set,
            val_way,
            val_shot,
            config.n_query,
            config.val_episodes,
            seed=config.seed + 1,
            device=device,
            amp=amp,
        )
        improved = best is None or val.mean > best.mean
        if improved:
            best, best_epoch = val, epoch
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
            save_checkpoint(
                checkpoint_path,
                model,
                {
                    **base_meta,
                    "episodes_trained": done,
                    "train_seconds": round(time.perf_counter() - started, 1),
                    "train_cpu_seconds": round(time.process_time() - cpu_started, 1),
                    "best_epoch": epoch,
                    "val_accuracy": val.mean,
                    "val_ci95": val.ci95,
                    "val_setting": f"{val_way}-way {val_shot}-shot, {val.episodes} episodes",
                },
            )
        record = EpochRecord(
            epoch,
            done,
            float(np.mean(losses)),
            float(np.mean(accuracies)),
            val.mean,
            val.ci95,
            time.perf_counter() - started,
            time.process_time() - cpu_started,
            improved,
        )
        history.append(record)
        if on_epoch is not None:
            on_epoch(record)
        if _over(config.time_limit_s, time.perf_counter() - started) or _over(
            config.cpu_time_limit_s, time.process_time() - cpu_started
        ):
            break
    model.load_state_dict(best_state)
    model.eval()
    assert best is not None  # at least one epoch always runs
    return TrainResult(
        model, history, best, best_epoch, done, time.perf_counter() - started,
        time.process_time() - cpu_started, str(device),
    )  # fmt: skip
