"""Checkpoints are plain state dicts plus primitive metadata, read with ``weights_only=True``.

Nothing is ever unpickled: a checkpoint from an untrusted source can at worst fail to load.
"""

from __future__ import annotations

import os
import pickle
import tempfile
from pathlib import Path
from typing import Any

import torch

from metarec.errors import DataError
from metarec.fewshot.methods import METHODS, FewShotMethod, build_method

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
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    # mkstemp creates the file private (0600); a model is meant to be shared like any file.
    os.chmod(tmp, 0o644)
    try:
        torch.save(payload, tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


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
