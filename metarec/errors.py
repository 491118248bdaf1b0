"""Exception types raised by metarec.

Every error a user can cause derives from :class:`MetaRecError`; the CLI prints its message as one
sentence and exits non-zero, so messages must be complete sentences that say what to do.

The library speaks to a Python caller, the CLI to a shell user. A library message that tells the
caller to change an argument names the *parameter*, exactly as the function spells it, in
backticks, with the value to pass where there is one, and lists the parameter in ``parameters``::

    raise DataError(
        "column 'x' mixes numbers and text; clean it, or pass `lenient=True` to treat it as "
        "categorical.",
        parameters=("lenient",),
    )

The CLI (``metarec.cli.errors``) owns the flags: it looks each listed parameter up in its one
table of flags and replaces the backticked token by what a shell user types, so the same error
reads "... or pass --lenient to treat it as categorical." on the command line; a token with a
value such as `encoding='latin-1'` becomes "--encoding latin-1", a bare `study_name` becomes
"--study-name".
Replacing reads better than appending the flag to the parameter: each reader gets one sentence in
their own terms. A parameter the table does not know keeps its Python form. Library messages
never name a CLI flag themselves (tests/test_errors.py keeps to that); a backticked command to
type, such as `metarec kb build --from DIR --out DIR`, is advice rather than a flag and may stay.
"""

from __future__ import annotations


class MetaRecError(Exception):
    """Base class for errors caused by the user's input or environment.

    ``parameters``: the names of the library parameters the message mentions (in backticks), so
    that a front end can say them in its own terms.
    """

    def __init__(self, *args: object, parameters: tuple[str, ...] = ()) -> None:
        super().__init__(*args)
        self.parameters = tuple(parameters)


class DataError(MetaRecError, ValueError):
    """The dataset cannot be read or is unusable for the requested task."""


class KnowledgeBaseError(MetaRecError):
    """The knowledge base is missing, corrupt, of the wrong version, or unusable for the task."""


class TuningError(MetaRecError, ValueError):
    """The study cannot be created, loaded or run as asked."""
