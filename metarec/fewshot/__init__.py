"""Neural few-shot learning on image folders: prototypical, matching and siamese networks, MAML.

Importing this package is cheap: torch is imported only when a training, evaluation or
prediction function is first used, so the recommender can call :func:`is_image_folder` freely.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from metarec.errors import MetaRecError
from metarec.fewshot.sources import is_image_folder

# What the `fewshot` extra installs: the module imported, and the package that provides it.
EXTRA_MODULES = (("torch", "torch"), ("PIL", "Pillow"))

_LAZY = {
    "ImageSet": "metarec.fewshot.data",
    "EpisodeSampler": "metarec.fewshot.data",
    "load_image_set": "metarec.fewshot.data",
    "load_image_sets": "metarec.fewshot.data",
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

__all__ = ["is_image_folder", "require_extra", *_LAZY]


def require_extra() -> None:
    """Raise one sentence naming the ``fewshot`` extra when torch or Pillow is not installed:
    metarec's tabular parts install without them, and a bare "No module named 'PIL'" from deep
    inside image loading does not say what to install."""
    missing = []
    for module, package in EXTRA_MODULES:
        try:
            import_module(module)
        except ImportError:
            missing.append(package)
    if missing:
        verb = "is" if len(missing) == 1 else "are"
        raise MetaRecError(
            f"few-shot learning needs {' and '.join(missing)}, which {verb} not installed; "
            "install the fewshot extra with `pip install 'metarec[fewshot]'` (from a clone, add "
            "-c constraints.txt, which pins the CPU build of torch)."
        )


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        require_extra()
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'metarec.fewshot' has no attribute {name!r}")
