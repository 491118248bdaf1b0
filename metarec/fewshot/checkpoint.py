"""Checkpoints are plain state dicts plus primitive metadata, read with ``weights_only=True``.

Nothing is ever unpickled: a checkpoint from an untrusted source can at worst fail to load.
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import torch

from metarec.errors import DataError
from metarec.fewshot.methods import METHODS, FewShotMethod, build_method
from metarec.files import atomic_path

FORMAT = "metarec-fewshot-1"


def save_checkpoint(path: str | Path, model: FewShotMethod, meta: dict[str, Any]) -> None:
    """Write atomically, so an interrupted run never leaves a half-written model behind."""
    path = Path(path)
    payload = {
        "format": FORMAT,
        "method": model.name,
        "config": model.config(),
        "state_dict": {k: v.detach().to("cpu").clone() for k, v in model.state_dict().items()},
        "meta": meta,
    }
    # 0o644: a model is meant to be shared like any file.
    with atomic_path(path, mode=0o644) as tmp:
        torch.save(payload, tmp)


def load_checkpoint(
    path: str | Path, device: torch.device | str = "cpu"
) -> tuple[FewShotMethod, dict[str, Any]]:
    """Rebuild the model from a checkpoint; return (model in eval mode, metadata)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"model file {path} does not exist")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, OSError, ValueError) as exc:
        raise DataError(
            f"{path} is not a readable metarec few-shot checkpoint ({type(exc).__name__})"
        ) from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise DataError(f"{path} is not a metarec few-shot checkpoint (format {FORMAT})")
    if payload.get("method") not in METHODS:
        raise DataError(f"{path} holds an unknown method {payload.get('method')!r}")
    model = build_method(payload["method"], **payload["config"])
    try:
        model.load_state_dict(payload["state_dict"])
    except RuntimeError as exc:
        raise DataError(f"{path} does not match its own model description ({exc})") from None
    return model.to(device).eval(), dict(payload.get("meta", {}))
