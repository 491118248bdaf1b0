"""Prototypical networks (Snell, Swersky & Zemel, 2017)."""

from __future__ import annotations

import torch

from metarec.fewshot.methods.base import FewShotMethod, class_means


class ProtoNet(FewShotMethod):
    """Each class is the mean embedding of its shots; scores are negative squared distances."""

    name = "protonet"

    def forward(
        self,
        support: torch.Tensor,
        support_labels: torch.Tensor,
        query: torch.Tensor,
        n_way: int,
    ) -> torch.Tensor:
        support_emb, query_emb = self.embed_episode(support, query)
        prototypes = class_means(support_emb.float(), support_labels, n_way)
        # Distances in float32 even under mixed precision: squared norms overflow float16.
        # Broadcasting rather than torch.cdist, whose backward pass is several times slower
        # on the CPU at these sizes.
        difference = query_emb.float()[:, None, :] - prototypes[None, :, :]
        return -difference.pow(2).sum(-1)
