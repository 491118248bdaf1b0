"""Prototypical networks (Snell, Swersky & Zemel, 2017)."""

from __future__ import annotations

import torch

from metarec.fewshot.methods.base import MetricMethod, class_means


class ProtoNet(MetricMethod):
    """Each class is the mean embedding of its shots; scores are negative squared distances."""

    name = "protonet"

    def scores(
        self,
        support_emb: torch.Tensor,
        support_labels: torch.Tensor,
        query_emb: torch.Tensor,
        n_way: int,
    ) -> torch.Tensor:
        prototypes = class_means(support_emb.float(), support_labels, n_way)
        # Distances in float32 even under mixed precision: squared norms overflow float16.
        # Broadcasting rather than torch.cdist, whose backward pass is several times slower
        # on the CPU at these sizes.
        difference = query_emb.float()[:, None, :] - prototypes[None, :, :]
        return -difference.pow(2).sum(-1)
