"""The few-shot methods, by name."""

from __future__ import annotations

from typing import Any

from metarec.errors import MetaRecError
from metarec.fewshot.methods.base import FewShotMethod
from metarec.fewshot.methods.maml import MAML
from metarec.fewshot.methods.matching import MatchingNet
from metarec.fewshot.methods.protonet import ProtoNet
from metarec.fewshot.methods.siamese import SiameseNet

METHODS: dict[str, type[FewShotMethod]] = {
    cls.name: cls for cls in (ProtoNet, MatchingNet, SiameseNet, MAML)
}


def build_method(name: str, **config: Any) -> FewShotMethod:
    try:
        cls = METHODS[name]
    except KeyError:
        raise MetaRecError(
            f"unknown few-shot method {name!r}; choose one of {', '.join(METHODS)}"
        ) from None
    return cls(**config)


__all__ = ["METHODS", "FewShotMethod", "build_method"]
