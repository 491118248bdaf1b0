"""The engine that runs a portfolio's cross-validations: joblib, on one machine or on a cluster.

``kb add`` and the run campaigns hand their work to :func:`joblib.Parallel`; this module chooses
joblib's backend for the duration of a run. ``backend='dask'`` runs on a ``dask.distributed``
cluster: the one at ``scheduler`` (an address such as ``tcp://10.0.0.5:8786``) when one is named,
else the Client the caller already holds, else a :class:`~distributed.LocalCluster` started here
with ``n_jobs`` single-threaded worker processes and closed at the end, so that the command line
(which holds no Client) works as the library call inside a Client does.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

from metarec.errors import KnowledgeBaseError

# How long connecting to a named scheduler may take before it is called unreachable.
CONNECT_TIMEOUT_S = 10
BACKENDS_WITH_SCHEDULER = ("dask",)
DASK_BACKEND = "metarec-dask"


def _distributed() -> Any:  # the module, imported only when asked for
    try:
        import distributed
    except ImportError:
        raise KnowledgeBaseError(
            "`backend='dask'` needs dask.distributed, which is not installed; install it with "
            "`pip install 'metarec[dask]'`.",
            parameters=("backend",),
        ) from None
    return distributed


def _register(backend: str) -> None:
    # joblib knows loky/threading itself and registers dask once distributed is importable;
    # ray needs its own registration call.
    from joblib.parallel import BACKENDS

    if backend not in (*BACKENDS, "dask", "ray"):
        known = ", ".join(repr(b) for b in sorted({*BACKENDS, "dask", "ray"}))
        raise KnowledgeBaseError(f"`backend={backend!r}` is not a joblib backend; choose one of "
                                 f"{known}.", parameters=("backend",))
    if backend == "ray":
        try:
            from ray.util.joblib import register_ray
        except ImportError:
            raise KnowledgeBaseError("`backend='ray'` needs the ray package installed.",
                                     parameters=("backend",)) from None
        register_ray()
    if backend == "dask":
        _distributed()


def _connect(distributed: Any, scheduler: str) -> Any:
    try:
        return distributed.Client(scheduler, timeout=CONNECT_TIMEOUT_S,
                                  set_as_default=True)
    except (OSError, TimeoutError, ValueError, TypeError) as exc:
        # OSError: nobody answers; ValueError/TypeError: not an address at all.
        reason = str(exc).split("\n")[0].rstrip(".") or type(exc).__name__
        raise KnowledgeBaseError(
            f"could not reach a Dask scheduler at `scheduler={scheduler!r}` ({reason}); start "
            "one (`dask scheduler`) or leave the scheduler out to run on a local cluster.",
            parameters=("scheduler",),
        ) from None


def _dask_backend() -> str:
    """The name of joblib's Dask backend, made to send even a lone job to the cluster.

    joblib runs a ``Parallel`` whose backend offers one job at a time (a cluster of one worker
    thread) in the calling process instead: a run meant for the cluster would then compute on
    the machine that only submits it, with none of the worker's limits (threads, memory). The
    cluster queues what its workers cannot take yet, so offering two jobs costs nothing."""
    import joblib
    from joblib._dask import DaskDistributedBackend  # joblib's own, registered as "dask"

    class ClusterBackend(DaskDistributedBackend):
        def effective_n_jobs(self, n_jobs: int | None) -> int:
            return max(2, super().effective_n_jobs(n_jobs))

    joblib.register_parallel_backend(DASK_BACKEND, ClusterBackend)
    return DASK_BACKEND


def _current_client(distributed: Any) -> Any:
    try:
        return distributed.get_client()
    except ValueError:  # no Client in this process
        return None


@contextmanager
def parallel(backend: str | None, n_jobs: int = 1, scheduler: str | None = None) -> Iterator[int]:
    """Run the ``joblib.Parallel`` calls inside on ``backend``; yields the ``n_jobs`` to pass them.

    ``backend=None`` keeps joblib's default (loky processes, ``n_jobs`` of them). For
    ``backend='dask'`` the yielded value is -1: every worker of the cluster takes part, and
    ``n_jobs`` (-1 or 1 and more) is how many worker processes a local cluster starts (-1: one
    per core). A ``scheduler`` implies ``backend='dask'``."""
    import joblib

    if scheduler is not None and backend is None:
        backend = "dask"
    if scheduler is not None and backend not in BACKENDS_WITH_SCHEDULER:
        raise KnowledgeBaseError(
            f"`scheduler` names a Dask scheduler, so it needs `backend='dask'`, not "
            f"`backend={backend!r}`.", parameters=("scheduler", "backend"))
    if backend is None:
        yield n_jobs
        return
    _register(backend)
    with ExitStack() as stack:
        if backend == "dask":
            distributed = _distributed()
            if scheduler is not None:
                stack.enter_context(_connect(distributed, scheduler))
            elif _current_client(distributed) is None:
                cluster = stack.enter_context(distributed.LocalCluster(
                    n_workers=None if n_jobs < 1 else n_jobs, threads_per_worker=1,
                    processes=True, dashboard_address=":0"))  # any free port
                stack.enter_context(distributed.Client(cluster, set_as_default=True))
            n_jobs = -1
        stack.enter_context(joblib.parallel_config(
            backend=_dask_backend() if backend == "dask" else backend))
        yield n_jobs
