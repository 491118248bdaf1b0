"""What every few-shot method provides, so one training loop and one evaluator serve them all."""

from __future__ import annotations

from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from metarec.fewshot.backbone import Conv4


class FewShotMethod(nn.Module):
    """A method maps (support images, support labels, query images, N) to query class scores.

    Scores are logits over the N classes (higher is more likely). ``episode_loss`` is the
    training objective; cross-entropy on the scores unless a method needs another one.
    """

    name: ClassVar[str]
    # Episodes averaged per optimiser step; MAML's meta-batch, 1 for the metric methods.
    default_meta_batch: ClassVar[int] = 1

    def __init__(self, in_channels: int = 1, hidden: int = 64, image_size: int = 28) -> None:
        super().__init__()
        self.in_channels, self.hidden, self.image_size = in_channels, hidden, image_size
        self.backbone = Conv4(in_channels, hidden, track_running_stats=self.tracks_batch_stats())
        self.embedding_dim = Conv4.output_dim(hidden, image_size)

    @classmethod
    def tracks_batch_stats(cls) -> bool:
        return True

    def config(self) -> dict[str, Any]:
        """Constructor arguments that rebuild this model (stored in checkpoints)."""
        return {
            "in_channels": self.in_channels,
            "hidden": self.hidden,
            "image_size": self.image_size,
        }

    def embed_episode(
        self, support: torch.Tensor, query: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        # One forward pass over support and query together: half the kernel launches, and batch
        # norm sees the whole episode.
        embeddings = self.backbone(torch.cat([support, query]))
        return embeddings[: len(support)], embeddings[len(support) :]

    def forward(
        self,
        support: torch.Tensor,
        support_labels: torch.Tensor,
        query: torch.Tensor,
        n_way: int,
    ) -> torch.Tensor:
        raise NotImplementedError

    def episode_loss(
        self,
        support: torch.Tensor,
        support_labels: torch.Tensor,
        query: torch.Tensor,
        query_labels: torch.Tensor,
        n_way: int,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        logits = self(support, support_labels, query, n_way)
        return F.cross_entropy(logits.float(), query_labels), logits


class MetricMethod(FewShotMethod):
    """A method whose scores see the images only through one embedding per image.

    In eval mode (batch norm on running statistics) an image's embedding does not depend on
    the episode, so an evaluator may embed every test image once and score many episodes from
    the cached embeddings with :meth:`scores`; the results are the same as with ``forward``.
    """

    def scores(
        self,
        support_emb: torch.Tensor,
        support_labels: torch.Tensor,
        query_emb: torch.Tensor,
        n_way: int,
    ) -> torch.Tensor:
        raise NotImplementedError

    def forward(
        self,
        support: torch.Tensor,
        support_labels: torch.Tensor,
        query: torch.Tensor,
        n_way: int,
    ) -> torch.Tensor:
        support_emb, query_emb = self.embed_episode(support, query)
        return self.scores(support_emb, support_labels, query_emb, n_way)


def class_means(values: torch.Tensor, labels: torch.Tensor, n_way: int) -> torch.Tensor:
    """Average the rows of ``values`` (support x features) per class: (n_way x features).

    Works with unequal shots per class, as in a user's support folder.
    """
    one_hot = F.one_hot(labels, n_way).to(values.dtype)
    counts = one_hot.sum(0).clamp_min(1)
    return (one_hot.T @ values) / counts[:, None]
