"""The Conv-4 backbone shared by every method (Vinyals et al. 2016; Snell et al. 2017)."""

from __future__ import annotations

import torch
from torch import nn


def conv_block(in_channels: int, out_channels: int, track_running_stats: bool) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1),
        nn.BatchNorm2d(out_channels, track_running_stats=track_running_stats),
        nn.ReLU(),
        nn.MaxPool2d(2),
    )


class Conv4(nn.Module):
    """Four 3x3 conv / batch-norm / ReLU / 2x2 max-pool blocks, flattened.

    A 28x28 input gives a 64-dimensional embedding with the default 64 filters.
    ``track_running_stats=False`` makes batch norm always use the batch's statistics, as MAML
    does (its adapted weights make stored running statistics meaningless).
    """

    def __init__(
        self, in_channels: int = 1, hidden: int = 64, track_running_stats: bool = True
    ) -> None:
        super().__init__()
        self.encoder = nn.Sequential(
            conv_block(in_channels, hidden, track_running_stats),
            conv_block(hidden, hidden, track_running_stats),
            conv_block(hidden, hidden, track_running_stats),
            conv_block(hidden, hidden, track_running_stats),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x).flatten(1)

    @staticmethod
    def output_dim(hidden: int, image_size: int) -> int:
        side = image_size
        for _ in range(4):
            side //= 2
        return hidden * side * side
