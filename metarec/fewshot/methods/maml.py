"""Model-agnostic meta-learning (Finn, Abbeel & Levine, 2017), second- or first-order."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call

from metarec.fewshot.methods.base import FewShotMethod


class MAML(FewShotMethod):
    """Conv-4 plus a linear head, adapted to each episode by gradient steps on its support set.

    The head's initial weights are one learned vector (and bias) shared by all N classes
    (Ye & Chao, 2022): the model is then independent of how the episode numbers its classes,
    and one trained model serves any number of ways. Batch norm always uses the batch's
    statistics, as in the original. ``first_order`` drops the second derivatives (FOMAML).
    """

    name = "maml"
    default_meta_batch = 4

    def __init__(
        self,
        in_channels: int = 1,
        hidden: int = 64,
        image_size: int = 28,
        inner_lr: float = 0.4,
        inner_steps: int = 1,
        eval_inner_steps: int = 3,
        first_order: bool = False,
    ) -> None:
        super().__init__(in_channels, hidden, image_size)
        self.inner_lr, self.inner_steps, self.eval_inner_steps = (
            inner_lr,
            inner_steps,
            eval_inner_steps,
        )
        self.first_order = first_order
        self.head_weight = nn.Parameter(torch.zeros(self.embedding_dim))
        self.head_bias = nn.Parameter(torch.zeros(()))

    @classmethod
    def tracks_batch_stats(cls) -> bool:
        return False

    def config(self) -> dict[str, Any]:
        return {
            **super().config(),
            "inner_lr": self.inner_lr,
            "inner_steps": self.inner_steps,
            "eval_inner_steps": self.eval_inner_steps,
            "first_order": self.first_order,
        }

    def _logits(self, params: dict[str, torch.Tensor], images: torch.Tensor) -> torch.Tensor:
        body = {k[len("backbone.") :]: v for k, v in params.items() if k.startswith("backbone.")}
        features = functional_call(self.backbone, body, (images,))
        return features @ params["head.weight"].T + params["head.bias"]

    def adapt(
        self, support: torch.Tensor, support_labels: torch.Tensor, n_way: int
    ) -> dict[str, torch.Tensor]:
        """Return the fast weights after the inner-loop steps on the support set."""
        params = {k: v for k, v in self.named_parameters() if k.startswith("backbone.")}
        params["head.weight"] = self.head_weight.expand(n_way, -1)
        params["head.bias"] = self.head_bias.expand(n_way)
        # Second derivatives only when meta-training second-order; evaluation needs first ones.
        create_graph = self.training and not self.first_order
        steps = self.inner_steps if self.training else self.eval_inner_steps
        for _ in range(steps):
            loss = F.cross_entropy(self._logits(params, support).float(), support_labels)
            grads = torch.autograd.grad(loss, list(params.values()), create_graph=create_graph)
            params = {
                name: value - self.inner_lr * grad
                for (name, value), grad in zip(params.items(), grads, strict=True)
            }
        return params

    def forward(
        self,
        support: torch.Tensor,
        support_labels: torch.Tensor,
        query: torch.Tensor,
        n_way: int,
    ) -> torch.Tensor:
        # Adaptation needs gradients even when the caller evaluates under torch.no_grad().
        with torch.enable_grad():
            fast = self.adapt(support, support_labels, n_way)
            logits = self._logits(fast, query)
        return logits if self.training else logits.detach()
