"""Pick the best available device and the matching mixed-precision setting."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch

from metarec.errors import MetaRecError


def select_device(requested: str = "auto") -> torch.device:
    """CUDA when present, then Apple's MPS, then the CPU; or exactly what was asked for."""
    if requested != "auto":
        if requested.startswith("cuda") and not torch.cuda.is_available():
            raise MetaRecError("--device cuda was requested but no CUDA GPU is available")
        if requested == "mps" and not _mps_available():
            raise MetaRecError("--device mps was requested but MPS is not available")
        if requested not in {"cpu", "mps"} and not requested.startswith("cuda"):
            raise MetaRecError(f"unknown device {requested!r}; use auto, cuda, mps or cpu")
        return torch.device(requested)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if _mps_available():
        return torch.device("mps")
    return torch.device("cpu")


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def amp_dtype(device: torch.device) -> torch.dtype | None:
    """Mixed precision only on CUDA: bfloat16 where supported (no loss scaling needed)."""
    if device.type != "cuda":
        return None
    return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16


@contextlib.contextmanager
def autocast(device: torch.device, dtype: torch.dtype | None) -> Iterator[None]:
    if dtype is None:
        yield
        return
    with torch.autocast(device_type=device.type, dtype=dtype):
        yield
