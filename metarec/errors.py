"""Exception types raised by metarec.

Every error a user can cause derives from :class:`MetaRecError`; the CLI prints its message as one
sentence and exits non-zero, so messages must be complete sentences that say what to do.
"""

from __future__ import annotations


class MetaRecError(Exception):
    """Base class for errors caused by the user's input or environment."""


class DataError(MetaRecError, ValueError):
    """The dataset cannot be read or is unusable for the requested task."""


class KnowledgeBaseError(MetaRecError):
    """The knowledge base is missing, corrupt, of the wrong version, or unusable for the task."""


class TuningError(MetaRecError):
    """The study cannot be created, loaded or run as asked."""
