"""N-way K-shot accuracy over many episodes, with a 95% confidence interval."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch

from metarec.errors import DataError
from metarec.fewshot.data import Episode, EpisodeSampler, ImageSet, random_affine
from metarec.fewshot.device import autocast
from metarec.fewshot.methods import FewShotMethod
from metarec.fewshot.methods.base import MetricMethod
from metarec.fewshot.methods.protonet import ProtoNet


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


def check_views(model: FewShotMethod, views: int) -> None:
    if views < 1:
        raise DataError(f"`views` must be at least 1, not {views}", parameters=("views",))
    if views > 1 and not isinstance(model, MetricMethod):
        raise DataError(
            "test-time views apply to metric methods (protonet, matching, siamese), "
            f"not {model.name}"
        )


def check_transductive(model: FewShotMethod, transductive: bool) -> None:
    if transductive and not isinstance(model, ProtoNet):
        raise DataError(
            "`transductive` refines class prototypes, which only a protonet model has, "
            f"not {model.name}",
            parameters=("transductive",),
        )


def embed_views(
    model: MetricMethod, images: torch.Tensor, views: int = 1, seed: int = 0
) -> torch.Tensor:
    """Embeddings of a (B, C, H, W) batch, each averaged over ``views`` versions of its image.

    View 0 is the image itself; the others are seeded small random affine distortions, the
    kind ``--augment`` trains with. A single drawing of a character is a noisy prototype; the
    average embedding of a few plausible redrawings is a steadier one. The same seed gives the
    same views, so results are reproducible; batch norm runs on its stored statistics (eval
    mode), so an image's embedding does not depend on its batch.
    """
    embedding = model.backbone(images).float()
    if views == 1:
        return embedding
    generator = torch.Generator().manual_seed(seed)
    total = embedding
    for _ in range(views - 1):
        distorted = random_affine(images.cpu(), generator).to(images.device)
        total = total + model.backbone(distorted).float()
    return total / views


def embed_set(
    model: MetricMethod,
    data: ImageSet,
    device: torch.device,
    amp: torch.dtype | None,
    views: int = 1,
) -> ImageSet:
    """Embed every image once (eval mode): (n_c, D) float tensors in place of the images."""
    embedded = []
    with torch.no_grad(), autocast(device, amp):
        for index, images in enumerate(data.images):
            embedded.append(embed_views(model, images.to(device), views, seed=index))
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
    views: int = 1,
    transductive: bool = False,
) -> Accuracy:
    """Accuracy on ``episodes`` seeded episodes (the same episodes for every model and run).

    Metric methods are scored from embeddings computed once per image, which makes thousands
    of episodes cheap; the episodes and the accuracy are the same as without the cache.
    ``views`` > 1 averages each image's embedding over that many views (:func:`embed_views`).
    ``transductive`` refines each episode's prototypes with its queries (protonet only;
    :func:`metarec.fewshot.methods.protonet.refine_prototypes`).
    """
    check_views(model, views)
    check_transductive(model, transductive)
    device = device or next(model.parameters()).device
    was_training = model.training
    model.eval()
    cached = (cache_embeddings or views > 1 or transductive) and isinstance(model, MetricMethod)
    source = embed_set(model, data, device, amp, views) if cached else data
    sampler = EpisodeSampler(source, n_way, k_shot, n_query, rotations=False, seed=seed)
    scores = []
    with torch.no_grad():
        for index in range(episodes):
            episode = episode_to(sampler.sample(), device)
            with autocast(device, amp):
                if transductive:
                    assert isinstance(model, ProtoNet)
                    logits = model.transductive_scores(
                        episode.support, episode.support_labels, episode.query, n_way
                    )
                elif cached:
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
