"""Turn library errors into one clear sentence on stderr and a non-zero exit."""

from __future__ import annotations

import ast
import functools
import os
import re
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import typer

from metarec.errors import MetaRecError

F = TypeVar("F", bound=Callable[..., Any])

EXIT_USER_ERROR = 2
EXIT_INTERRUPTED = 130
EXIT_INTERNAL = 70

# The flag of each library parameter that a library message may name (see metarec.errors): the
# one place where the CLI's option names meet the library's parameter names.
FLAGS = {
    "backend": "--backend",  # kb.add.add_dataset
    "data_root": "--from",  # kb.build.build
    "device": "--device",  # fewshot: predict, select_device, TrainConfig
    "encoding": "--encoding",  # io.read_table, io.load_dataset, kb.add.add_dataset
    "ensemble_size": "--ensemble-size",  # tuning.search
    "episodes": "--episodes",  # fewshot.train.TrainConfig
    "epoch_episodes": "--epoch-episodes",  # fewshot.train.TrainConfig
    "fraction": "--val-fraction",  # fewshot.data.validation_split
    "kb_path": "--kb",  # kb.add.add_dataset
    "lenient": "--lenient",  # columns.type_columns, io.load_dataset, kb.add.add_dataset
    "method": "--method",  # fewshot.workflow.train_on_images
    "mixed_sizes": "--mixed-sizes",  # fewshot.data.load_image_set, fewshot.predict.predict
    "model_path": "--model",  # fewshot.predict.predict
    "out": "--out",  # kb.build.build
    "overwrite": "--force",  # tuning.save_pipeline
    "path": "--kb",  # kb.load
    "scheduler": "--scheduler",  # kb.engine.parallel (kb add, the run campaigns)
    "sep": "--sep",  # io.read_table, io.load_dataset, kb.add.add_dataset
    "strict": "--strict",  # columns.type_columns, io.load_dataset, kb.add.add_dataset
    "probe_budget_s": "--probe-budget",  # recommend.recommend
    "study_name": "--study-name",  # tuning.create_study, tuning.search
    "threads": "--threads",  # fewshot.workflow.set_threads
    "time_budget": "--time-budget",  # tuning.search, tuning.anytime
    "timeout": "--timeout",  # tuning.search
    "transductive": "--transductive",  # fewshot: evaluate, predict
    "val_split": "--val-split",  # fewshot.workflow.train_on_images
    "views": "--views",  # fewshot: evaluate, predict
}

# `name` or `name=value` in backticks; the value is a Python literal.
_TOKEN = re.compile(r"`([A-Za-z_]\w*)(?:=([^`]*))?`")


def flag_message(exc: BaseException, flags: dict[str, str] | None = None) -> str:
    """``exc``'s message with each parameter it names replaced by the CLI flag (metarec.errors).

    ``flags`` adds to or overrides :data:`FLAGS` for one command.
    """
    table = {**FLAGS, **(flags or {})}
    named = set(getattr(exc, "parameters", ()))

    def render(match: re.Match[str]) -> str:
        name, value = match.group(1), match.group(2)
        flag = table.get(name) if name in named else None
        if flag is None:
            return match.group(0)
        if value is None or value == "True":
            return flag
        if value == "False":
            return f"--no-{flag[2:]}"
        return f"{flag} {_shell_value(value)}"

    return _TOKEN.sub(render, str(exc))


def _shell_value(value: str) -> str:
    """``'latin-1'`` -> ``latin-1``: a Python literal as typed on the command line."""
    try:
        return str(ast.literal_eval(value))
    except (ValueError, SyntaxError):
        return value


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


def handle_errors(func: F | None = None, *, flags: dict[str, str] | None = None) -> Any:
    """Decorate a command so that expected failures never show a traceback.

    A library error's parameters are named by their flags (:func:`flag_message`); ``flags`` maps
    the parameters whose flag is particular to this command, e.g. ``{"target": "--kb"}``.
    """
    if func is None:
        return functools.partial(handle_errors, flags=flags)

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except typer.Exit:
            raise
        except user_errors() as exc:
            raise fail(flag_message(exc, flags)) from None
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
