"""metarec: recommend algorithms, hyperparameters and imputation for a new dataset from experience.

Heavy modules (estimators, the meta-learner, few-shot learning) are imported lazily so that
``import metarec`` stays fast and never imports torch.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from metarec.errors import DataError, KnowledgeBaseError, MetaRecError

__version__ = "0.1.0"

_LAZY = {
    "MetaRecClassifier": "metarec.estimators",
    "MetaRecRegressor": "metarec.estimators",
}

__all__ = ["DataError", "KnowledgeBaseError", "MetaRecError", "__version__", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'metarec' has no attribute {name!r}")
