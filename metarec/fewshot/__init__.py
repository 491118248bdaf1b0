"""Neural few-shot learning on image folders: prototypical, matching and siamese networks, MAML.

Importing this package is cheap: torch is imported only when a training, evaluation or
prediction function is first used, so the recommender can call :func:`is_image_folder` freely.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from metarec.fewshot.sources import is_image_folder

_LAZY = {
    "ImageSet": "metarec.fewshot.data",
    "EpisodeSampler": "metarec.fewshot.data",
    "load_image_set": "metarec.fewshot.data",
    "TrainConfig": "metarec.fewshot.train",
    "train": "metarec.fewshot.train",
    "evaluate": "metarec.fewshot.evaluate",
    "Accuracy": "metarec.fewshot.evaluate",
    "predict": "metarec.fewshot.predict",
    "default_model_path": "metarec.fewshot.predict",
    "load_checkpoint": "metarec.fewshot.checkpoint",
    "save_checkpoint": "metarec.fewshot.checkpoint",
    "select_device": "metarec.fewshot.device",
    "METHODS": "metarec.fewshot.methods",
    "build_method": "metarec.fewshot.methods",
}

__all__ = ["is_image_folder", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'metarec.fewshot' has no attribute {name!r}")
