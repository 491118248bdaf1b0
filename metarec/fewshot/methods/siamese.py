"""Siamese networks for one-shot recognition (Koch, Zemel & Salakhutdinov, 2015)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from metarec.fewshot.methods.base import MetricMethod, class_means


class SiameseNet(MetricMethod):
    """A verification network: is this query the same class as that support image?

    Pairs are scored by a linear layer on the absolute difference of their embeddings and
    trained with binary cross-entropy; a query's class score is its mean pair logit over the
    class's shots. Trained on the query x support pairs of each episode, with positives
    weighted up so that the N-1 negatives per positive do not swamp them.
    """

    name = "siamese"

    def __init__(self, in_channels: int = 1, hidden: int = 64, image_size: int = 28) -> None:
        super().__init__(in_channels, hidden, image_size)
        self.head = nn.Linear(self.embedding_dim, 1)

    def pair_logits(self, support_emb: torch.Tensor, query_emb: torch.Tensor) -> torch.Tensor:
        difference = (query_emb.float()[:, None, :] - support_emb.float()[None, :, :]).abs()
        return self.head(difference).squeeze(-1)  # (queries, supports)

    def scores(
        self,
        support_emb: torch.Tensor,
        support_labels: torch.Tensor,
        query_emb: torch.Tensor,
        n_way: int,
    ) -> torch.Tensor:
        pairs = self.pair_logits(support_emb, query_emb)
        return class_means(pairs.T, support_labels, n_way).T

    def episode_loss(
        self,
        support: torch.Tensor,
        support_labels: torch.Tensor,
        query: torch.Tensor,
        query_labels: torch.Tensor,
        n_way: int,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        pairs = self.pair_logits(*self.embed_episode(support, query))
        same = (query_labels[:, None] == support_labels[None, :]).float()
        weight = torch.tensor(float(max(n_way - 1, 1)), device=pairs.device)
        loss = F.binary_cross_entropy_with_logits(pairs, same, pos_weight=weight)
        return loss, class_means(pairs.T, support_labels, n_way).T
