"""The knowledge base: datasets, their meta-features, pipeline configurations and runs.

``metarec.kb.load(path=None)`` returns a verified :class:`~metarec.kb.store.KnowledgeBase`
(the shipped ``knowledge_base/`` by default); ``metarec.kb.build`` rebuilds one from run files.
"""

from __future__ import annotations

from metarec.kb.schema import KB_VERSION
from metarec.kb.store import KnowledgeBase, default_path, load

__all__ = ["KB_VERSION", "KnowledgeBase", "default_path", "load"]
