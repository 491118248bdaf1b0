"""Turn library errors into one clear sentence on stderr and a non-zero exit."""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import typer

from metarec.errors import MetaRecError

F = TypeVar("F", bound=Callable[..., Any])

EXIT_USER_ERROR = 2
EXIT_INTERRUPTED = 130
EXIT_INTERNAL = 70


def user_errors() -> tuple[type[BaseException], ...]:
    from metafeatures.errors import MetaFeatureError

    return (MetaRecError, MetaFeatureError)


def fail(message: str, code: int = EXIT_USER_ERROR) -> typer.Exit:
    message = message.strip()
    if not message.endswith((".", "?", "!")):
        message += "."
    print(f"metarec: error: {message}", file=sys.stderr)
    return typer.Exit(code)


def warn(message: str) -> None:
    print(f"metarec: warning: {message}", file=sys.stderr)


def handle_errors(func: F) -> F:
    """Decorate a command so that expected failures never show a traceback."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except typer.Exit:
            raise
        except user_errors() as exc:
            raise fail(str(exc)) from None
        except KeyboardInterrupt:
            raise fail("interrupted", EXIT_INTERRUPTED) from None
        except MemoryError:
            raise fail("ran out of memory; try a smaller sample of the data") from None
        except Exception as exc:
            if os.environ.get("METAREC_DEBUG"):
                raise
            raise fail(
                f"internal error ({type(exc).__name__}: {exc}); rerun with METAREC_DEBUG=1 "
                "for the traceback and please report it",
                EXIT_INTERNAL,
            ) from None

    return wrapper  # type: ignore[return-value]
