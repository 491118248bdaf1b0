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


def _install(path: str) -> None:
    import pickle

    _die_with_parent()

    # The file was written a moment ago by the process that started this worker, in a directory
    # only its user can read (see IsolatedRunner._data_file): not untrusted input.
    with open(path, "rb") as handle:
        data = pickle.load(handle)  # noqa: S301
    _WORKER_DATA.clear()
    _WORKER_DATA.update(data)


def _die_with_parent() -> None:
    """On Linux, ask the kernel to kill this worker when the process that started it dies: a
    search killed from outside (a signal, a notebook restart) must not leave a trial running."""
    import sys

    if sys.platform.startswith("linux"):
        import ctypes
        import signal

        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, int(signal.SIGKILL))


def worker_data() -> dict[str, Any]:
    """The data this worker process was started with (inside a piece of work)."""
    return _WORKER_DATA


class IsolatedRunner:
    """Run functions in one worker process that holds ``data``, each with a time limit.

    ``run(fn, *args, limit=s)`` returns ``fn(*args)`` computed in the worker (where
    :func:`worker_data` gives ``data``), or raises :class:`PieceStopped` when it takes longer
    than ``s`` seconds (the worker is killed) or the worker dies. ``warm_up`` (a picklable
    function) runs first in every new worker: the imports every piece needs.

    A second worker is kept started and warmed up beside the active one: when the active one is
    killed, the next piece runs at once on the standby (and a new standby starts), instead of
    waiting seconds for a fresh interpreter's imports. Use it as a context manager: leaving
    kills both."""

    def __init__(self, data: dict[str, Any],
                 warm_up: Callable[[], Any] | None = None) -> None:
        self.data = data
        self.warm_up = warm_up
        self._active: tuple[Any, Any] | None = None  # (executor, its warm-up future or None)
        self._standby: tuple[Any, Any] | None = None
        self._directory: str | None = None

    def __enter__(self) -> IsolatedRunner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
        if self._standby is not None:
            self._standby[0].shutdown(wait=False, kill_workers=True)
            self._standby = None
        if self._directory is not None:
            import shutil

            shutil.rmtree(self._directory, ignore_errors=True)
            self._directory = None

    def _data_file(self) -> str:
        """The data, pickled once to a private temporary directory: a new worker reads it from
        there. Handing it over as an argument instead would block the start of every worker
        until the new interpreter has imported its modules and read the whole table from the
        pipe (seconds on a loaded machine), time no limit could cut short."""
        import os
        import pickle
        import tempfile

        if self._directory is None:
            self._directory = tempfile.mkdtemp(prefix="metarec-budget-")  # mode 0700
            with open(os.path.join(self._directory, "data.pkl"), "wb") as handle:
                pickle.dump(self.data, handle, protocol=pickle.HIGHEST_PROTOCOL)
        return os.path.join(self._directory, "data.pkl")

    def _start(self) -> tuple[Any, Any]:
        from loky import ProcessPoolExecutor

        # loky restarts a worker whose memory grew by 300 MB since it started (its guard against
        # leaks); ours grow by design (the knowledge base, fitted models), and a restart between
        # two pieces would cost a fresh interpreter's seconds. Memory errors still fail a piece.
        executor = ProcessPoolExecutor(max_workers=1, initializer=_install,
                                       initargs=(self._data_file(),),
                                       env={"LOKY_MAX_MEMORY_LEAK_SIZE": str(2**62)})
        return executor, executor.submit(self.warm_up) if self.warm_up is not None else None

    def run(self, fn: Callable[..., Any], *args: Any, limit: float,
            start_limit: float | None = None) -> Any:
        """``fn(*args)`` in the worker within ``limit`` seconds. With ``start_limit``, a worker
        still starting (or warming up) gets up to that many seconds to finish, so that
        ``limit`` measures ``fn`` alone; without, ``limit`` covers both."""
        started = time.monotonic()
        if limit <= 0:
            raise PieceStopped("no time was left for it")
        if self._active is None:
            self._active, self._standby = self._standby or self._start(), None
        executor, warming = self._active
        if warming is not None and start_limit is not None:
            self._wait(warming, start_limit, time.monotonic())
            self._active = (executor, None)
            started = time.monotonic()
        result = self._wait(executor.submit(fn, *args), limit, started)
        if self._standby is None:
            # started after a piece, not beside the first: its imports would slow that one
            self._standby = self._start()
        return result

    def _wait(self, future: Any, limit: float, started: float) -> Any:
        from loky.process_executor import BrokenProcessPool, TerminatedWorkerError

        try:
            # the time since ``started`` (starting a worker, submitting) counts
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
        """Kill the active worker (the standby stays, to take the next piece)."""
        if self._active is not None:
            self._active[0].shutdown(wait=False, kill_workers=True)
            self._active = None
