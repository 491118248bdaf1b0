"""Optuna's storage, sampler and study, kept apart as Optuna keeps them."""

from __future__ import annotations

import contextlib
import logging
import re
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from metarec.errors import TuningError
from metarec.tuning.space import ALGORITHM_PARAM

DEFAULT_STUDY_NAME = "metarec-tune"

_STORAGE_ATTEMPTS = 5
_PASSWORD_PARAMETER = re.compile(r"([?&]password=)[^&]*", re.IGNORECASE)
_RACE_MARKERS = ("IntegrityError", "UNIQUE constraint", "already exists", "database is locked")


def open_storage(storage: Any) -> Any:
    """An Optuna storage for ``storage``: None (in memory), an RDB URL, a plain file path (taken
    as an SQLite file), or a storage object. Unusable URLs raise a TuningError."""
    if storage is None or not isinstance(storage, (str, Path)):
        return storage
    url = str(storage)
    if "://" not in url:
        url = f"sqlite:///{Path(url).expanduser().resolve()}"
    from optuna.storages import RDBStorage

    for attempt in range(_STORAGE_ATTEMPTS):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                # The heartbeat lets a cooperating process mark a dead process's trials failed.
                return RDBStorage(url, heartbeat_interval=60, grace_period=180)
        except ImportError as exc:
            raise TuningError(
                f"the storage {_redact(url)} needs a database driver that is not installed"
                f"{_driver_hint(url, exc)}."
            ) from None
        except Exception as exc:  # sqlalchemy raises many types for bad URLs and dead servers
            text = str(exc)
            # Processes starting together race to create the schema; the loser retries.
            if attempt + 1 < _STORAGE_ATTEMPTS and any(m in text for m in _RACE_MARKERS):
                time.sleep(0.5 * (attempt + 1))
                continue
            reason = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
            raise TuningError(
                f"cannot open the study storage {_redact(url)} ({reason[:200]}); check the URL, "
                "that the database server is reachable and that the path or database exists."
            ) from None
    raise AssertionError("unreachable")


def _driver_hint(url: str, exc: ImportError) -> str:
    # Optuna re-raises the driver's ImportError with a generic message; the missing module's
    # name is on the original.
    missing = getattr(exc.__cause__, "name", None) or getattr(exc, "name", None)
    extra = "`pip install 'metarec[postgres]'`"
    if url.lower().startswith("postgres"):
        # SQLAlchemy 2.1 maps a plain postgresql:// URL to psycopg 3, which the extra installs.
        if missing in (None, "psycopg"):
            return f" (psycopg); install it with {extra}"
        return f" ({missing}); install it, or use a plain postgresql:// URL after {extra}"
    return f" ({missing or exc}); install the driver that the URL names"


def _redact(url: str) -> str:
    """``url`` as it may be printed: a password (in the user part or a ``password=`` query
    parameter) is masked; a URL without one is shown as it is."""
    head, sep, tail = url.partition("://")
    if not sep:
        return url
    if "@" in tail:
        # The last @ ends the user part, so a password holding an @ is masked whole.
        creds, _, host = tail.rpartition("@")
        if ":" in creds:
            tail = f"{creds.split(':', 1)[0]}:***@{host}"
    return head + "://" + _PASSWORD_PARAMETER.sub(r"\1***", tail)


def create_study(storage: Any, study_name: str | None, random_state: int | None,
                 task: str, scoring: str, n_warm: int = 0) -> tuple[Any, bool]:
    """Create or load the maximising study ``study_name``; refuse one that minimises or was made
    for another task or metric. ``n_warm``: the number of warm-start trials in the study (see
    :func:`warm_sampler`); 0 gives Optuna's standard TPE. Returns the study and whether this call
    created it: only the creator enqueues warm-start trials, because creating a study is atomic in
    the storage while ``enqueue_trial(skip_if_exists=True)`` is check-then-insert, and two
    processes starting together would both enqueue."""
    import optuna

    sampler = warm_sampler(random_state, n_warm)
    name = study_name or (DEFAULT_STUDY_NAME if storage is not None else None)
    try:
        study = optuna.create_study(storage=storage, sampler=sampler, study_name=name,
                                    direction="maximize")
        created = True
    except optuna.exceptions.DuplicatedStudyError:
        study = optuna.load_study(storage=storage, sampler=sampler, study_name=name)
        created = False
    attrs = study.user_attrs
    _refuse_another_study(name, study.directions, attrs, task, scoring)
    for key, value in (("metarec:task", task), ("metarec:scoring", scoring)):
        if key not in attrs:
            study.set_user_attr(key, value)
    return study, created


def check_study(storage: Any, study_name: str | None, task: str, scoring: str) -> None:
    """Refuse now, before any data is profiled, what :func:`create_study` would refuse: an
    existing study ``study_name`` in ``storage`` (an opened one) that minimises or was made for
    another task or metric. A study that does not exist yet is fine."""
    if storage is None:
        return
    name = study_name or DEFAULT_STUDY_NAME
    try:
        study_id = storage.get_study_id_from_name(name)
    except KeyError:
        return
    _refuse_another_study(name, storage.get_study_directions(study_id),
                          storage.get_study_user_attrs(study_id), task, scoring)


def _refuse_another_study(name: str | None, directions: Any, attrs: dict[str, Any], task: str,
                          scoring: str) -> None:
    import optuna

    if list(directions) != [optuna.study.StudyDirection.MAXIMIZE]:
        raise TuningError(
            f"the study {name!r} already exists and minimises; metarec maximises its score, so "
            "choose another `study_name`.",
            parameters=("study_name",),
        )
    for key, value in (("metarec:task", task), ("metarec:scoring", scoring)):
        if key in attrs and attrs[key] != value:
            raise TuningError(
                f"the study {name!r} already exists for {attrs[key]!r}, not {value!r}; choose "
                "another `study_name`.",
                parameters=("study_name",),
            )


def warm_sampler(random_state: int | None, n_warm: int = 0) -> Any:
    """Multivariate TPE (``group=True`` models each algorithm's conditional parameters jointly).

    Without warm-start trials (``n_warm=0``) it is Optuna's standard TPE: 10 random start-up
    trials, then the model. With ``n_warm`` enqueued trials the start-up phase is those trials:
    TPE counts every finished trial towards ``n_startup_trials``, so the default would follow the
    warm trials with ``10 - n_warm`` random ones; here the model takes over once the warm trials
    are done and samples from the region they mark as good."""
    import optuna

    kwargs: dict[str, Any] = {} if n_warm <= 0 else {"n_startup_trials": int(n_warm)}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return optuna.samplers.TPESampler(seed=random_state, multivariate=True, group=True,
                                          **kwargs)


@contextlib.contextmanager
def quiet_optuna(level: int = logging.WARNING) -> Iterator[None]:
    """Lower Optuna's log level for the duration (failed trials are still recorded)."""
    import optuna

    before = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(level)
    try:
        yield
    finally:
        optuna.logging.set_verbosity(before)



def existing_algorithms(study: Any) -> list[str] | None:
    """The algorithm choices of a shared study's existing trials: a cooperating process must
    search the same categorical space (Optuna refuses another set of choices)."""
    for trial in study.get_trials(deepcopy=False):
        distribution = trial.distributions.get(ALGORITHM_PARAM)
        if distribution is not None:
            return list(distribution.choices)
    return None

