"""N-way K-shot accuracy over many episodes, with a 95% confidence interval."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch

from metarec.fewshot.data import Episode, EpisodeSampler, ImageSet
from metarec.fewshot.device import autocast
from metarec.fewshot.methods import FewShotMethod
from metarec.fewshot.methods.base import MetricMethod


@dataclass(frozen=True)
class Accuracy:
    mean: float
    ci95: float
    episodes: int

    def __str__(self) -> str:
        return f"{100 * self.mean:.1f} ± {100 * self.ci95:.1f} %"

    def as_dict(self) -> dict[str, float | int]:
        return {"accuracy": self.mean, "ci95": self.ci95, "episodes": self.episodes}


def episode_to(episode: Episode, device: torch.device) -> Episode:
    return Episode(
        episode.support.to(device, non_blocking=True),
        episode.support_labels.to(device, non_blocking=True),
        episode.query.to(device, non_blocking=True),
        episode.query_labels.to(device, non_blocking=True),
        episode.n_way,
    )


def mean_ci95(values: list[float]) -> tuple[float, float]:
    """Mean and the half-width of its normal-approximation 95% interval."""
    n = len(values)
    mean = sum(values) / n
    if n < 2:
        return mean, float("nan")
    variance = sum((v - mean) ** 2 for v in values) / (n - 1)
    return mean, 1.96 * math.sqrt(variance / n)


def embed_set(
    model: MetricMethod, data: ImageSet, device: torch.device, amp: torch.dtype | None
) -> ImageSet:
    """Embed every image once (eval mode): (n_c, D) float tensors in place of the images."""
    embedded = []
    with torch.no_grad(), autocast(device, amp):
        for images in data.images:
            embedded.append(model.backbone(images.to(device)).float())
    return ImageSet(embedded, data.class_names, data.groups)


def evaluate(
    model: FewShotMethod,
    data: ImageSet,
    n_way: int,
    k_shot: int,
    n_query: int = 15,
    episodes: int = 1000,
    seed: int = 0,
    device: torch.device | None = None,
    amp: torch.dtype | None = None,
    on_episode: Callable[[int], None] | None = None,
    cache_embeddings: bool = True,
) -> Accuracy:
    """Accuracy on ``episodes`` seeded episodes (the same episodes for every model and run).

    Metric methods are scored from embeddings computed once per image, which makes thousands
    of episodes cheap; the episodes and the accuracy are the same as without the cache.
    """
    device = device or next(model.parameters()).device
    was_training = model.training
    model.eval()
    cached = cache_embeddings and isinstance(model, MetricMethod)
    source = embed_set(model, data, device, amp) if cached else data
    sampler = EpisodeSampler(source, n_way, k_shot, n_query, rotations=False, seed=seed)
    scores = []
    with torch.no_grad():
        for index in range(episodes):
            episode = episode_to(sampler.sample(), device)
            with autocast(device, amp):
                if cached:
                    assert isinstance(model, MetricMethod)
                    logits = model.scores(
                        episode.support, episode.support_labels, episode.query, n_way
                    )
                else:
                    logits = model(episode.support, episode.support_labels, episode.query, n_way)
            scores.append((logits.argmax(1) == episode.query_labels).float().mean().item())
            if on_episode is not None:
                on_episode(index + 1)
    model.train(was_training)
    mean, ci = mean_ci95(scores)
    return Accuracy(mean, ci, episodes)
