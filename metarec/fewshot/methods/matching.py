"""Matching networks (Vinyals et al., 2016), without full-context embeddings."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from metarec.fewshot.methods.base import MetricMethod


class MatchingNet(MetricMethod):
    """Attention over the support set by cosine similarity; the class scores are log of the
    attention mass on each class.

    The cosine similarities get a learned scale: without it they lie in [-1, 1] and the softmax
    attention is nearly uniform, which slows training a lot.
    """

    name = "matching"

    def __init__(self, in_channels: int = 1, hidden: int = 64, image_size: int = 28) -> None:
        super().__init__(in_channels, hidden, image_size)
        self.log_scale = nn.Parameter(torch.tensor(math.log(10.0)))

    def scores(
        self,
        support_emb: torch.Tensor,
        support_labels: torch.Tensor,
        query_emb: torch.Tensor,
        n_way: int,
    ) -> torch.Tensor:
        similarity = (
            F.normalize(query_emb.float(), dim=1) @ F.normalize(support_emb.float(), dim=1).T
        )
        attention = torch.softmax(similarity * self.log_scale.exp(), dim=1)
        probabilities = attention @ F.one_hot(support_labels, n_way).float()
        # Log-probabilities are valid logits: cross-entropy's log-softmax leaves them unchanged.
        return probabilities.clamp_min(1e-8).log()
