"""One module per data source; each exposes ``SOURCE`` and ``load(root) -> ImportResult``.

Everything that knows a source's file layout, column names or vocabulary lives in its module;
``metarec.kb.build`` only sees ``ImportResult`` frames in the knowledge base's own vocabulary.
"""

from __future__ import annotations

from importlib import import_module
from types import ModuleType

from metarec.kb.importers._common import ImportResult

# Order matters where sources state the same fact: earlier sources win (OpenML's own qualities
# first), which keeps the build deterministic.
NAMES = ["openml_qualities", "oboe", "openml100", "autosklearn", "tabrepo", "local_metafeatures"]


def get(name: str) -> ModuleType:
    return import_module(f"metarec.kb.importers.{name}")


__all__ = ["NAMES", "ImportResult", "get"]
