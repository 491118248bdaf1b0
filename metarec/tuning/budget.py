"""A wall-clock budget that holds: a deadline, and work run where it can be stopped.

A Python thread cannot be interrupted in the middle of a scikit-learn fit, so a budgeted
search runs each piece of work (the profile, a trial, a refit) in one worker process
(:class:`IsolatedRunner`, a loky executor). When a piece overruns its limit, the worker is
killed and a fresh one takes the next piece: nothing can run past the deadline, whatever the
estimator does; a worker that dies (memory) fails that piece only.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

# The data a worker was started with (set by its initializer): pieces of work receive indices,
# not tables, so a trial on 100,000 rows does not copy them again.
_WORKER_DATA: dict[str, Any] = {}


class Deadline:
    """``seconds`` of wall time from ``started`` (a :func:`time.monotonic` value; default: now)."""

    def __init__(self, seconds: float, started: float | None = None) -> None:
        self.seconds = float(seconds)
        self.started = time.monotonic() if started is None else float(started)

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def left(self) -> float:
        return self.seconds - self.elapsed()


class PieceStopped(Exception):
    """A piece of work was stopped: it overran its limit, or its worker died."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _install(data: dict[str, Any]) -> None:
    _WORKER_DATA.clear()
    _WORKER_DATA.update(data)


def worker_data() -> dict[str, Any]:
    """The data this worker process was started with (inside a piece of work)."""
    return _WORKER_DATA


class IsolatedRunner:
    """Run functions in one worker process that holds ``data``, each with a time limit.

    ``run(fn, *args, limit=s)`` returns ``fn(*args)`` computed in the worker (where
    :func:`worker_data` gives ``data``), or raises :class:`PieceStopped` when it takes longer
    than ``s`` seconds (the worker is killed; the next call starts a new one) or the worker dies.
    Use it as a context manager: leaving kills the worker."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data
        self._executor: Any = None

    def __enter__(self) -> IsolatedRunner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def run(self, fn: Callable[..., Any], *args: Any, limit: float) -> Any:
        from loky import ProcessPoolExecutor
        from loky.process_executor import BrokenProcessPool, TerminatedWorkerError

        if limit <= 0:
            raise PieceStopped("no time was left for it")
        started = time.monotonic()
        if self._executor is None:
            self._executor = ProcessPoolExecutor(max_workers=1, initializer=_install,
                                                 initargs=(self.data,))
        try:
            future = self._executor.submit(fn, *args)
            # starting the worker may have taken seconds (a loaded machine): that time counts
            return future.result(timeout=max(0.0, limit - (time.monotonic() - started)))
        except FutureTimeout:
            self.close()
            raise PieceStopped(f"stopped after {time.monotonic() - started:.1f} s, the time "
                               f"it had left in the budget") from None
        except (BrokenProcessPool, TerminatedWorkerError) as exc:
            self.close()
            raise PieceStopped(f"its worker process died ({type(exc).__name__}; out of "
                               f"memory?)") from None

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=False, kill_workers=True)
            self._executor = None
