"""Who runs which configuration when several processes add the same dataset at once.

``metarec kb add`` started twice on one dataset and one knowledge base (two terminals, a job
array) splits the portfolio instead of running it twice: a process claims a configuration before
it runs it, with an exclusive, non-blocking lock on a file of that configuration's own, and skips
configurations another process holds. The operating system drops a process's locks when it dies,
so the configuration of a crashed claimant is claimed by the next process that looks for work;
no claim has to expire, and none blocks for ever.

The lock files live beside the knowledge base's own lock, outside the knowledge base: that folder
is replaced whole whenever any process writes it (:func:`metarec.kb.store.write`), which would
leave a lock held on a file no longer there. For the same reason the caller reads and appends the
resume file, which does live in the knowledge base, only under the knowledge base's lock
(:attr:`Claims.kb_lock`): a writer then copies it whole into the new folder.

Every process that works on the dataset holds a shared lock on one more file until it has every
result; one that finds, once it has written the knowledge base, that nobody holds that lock any
more was the last, and removes the resume file and the lock files.

Where the operating system offers no ``flock`` (Windows) every claim succeeds: processes then
repeat each other's work, as before.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import threading
from pathlib import Path
from typing import Any

from metarec.kb import store

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX
    fcntl = None  # type: ignore[assignment]


class Claims:
    """The claims of one process on the configurations of ``dataset_id`` for the knowledge base
    at ``target``. Use as a context manager: entering joins the processes working on the
    dataset, leaving drops every claim this process still holds and leaves them."""

    def __init__(self, target: Path, dataset_id: str) -> None:
        self.kb_lock = store.lock_for(target)
        lock_file = Path(self.kb_lock.lock_file)
        self.folder = lock_file.with_name(f"{lock_file.stem}.add-{dataset_id}")
        self._held: dict[str, int] = {}
        self._active: int | None = None
        # Joblib may draw the next job (and so claim) from another thread than the one recording.
        self._mutex = threading.Lock()

    def __enter__(self) -> Claims:
        with self.kb_lock:  # not while the last process of an earlier run removes the folder
            self.folder.mkdir(parents=True, exist_ok=True)
            self._active = os.open(self.folder / "active", os.O_RDWR | os.O_CREAT, 0o666)
            if fcntl is not None:
                fcntl.flock(self._active, fcntl.LOCK_SH)
        return self

    def __exit__(self, *exc: Any) -> None:
        with self._mutex:
            held, self._held = list(self._held.values()), {}
        for fd in held:
            os.close(fd)
        if self._active is not None:
            os.close(self._active)
            self._active = None

    def claim(self, configuration_id: str) -> bool:
        """Claim ``configuration_id`` unless another living process holds it."""
        digest = hashlib.sha1(configuration_id.encode()).hexdigest()[:20]
        fd = os.open(self.folder / f"{digest}.claim", os.O_RDWR | os.O_CREAT, 0o666)
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                return False
        with self._mutex:
            self._held[configuration_id] = fd
        return True

    def release(self, configuration_id: str) -> None:
        with self._mutex:
            fd = self._held.pop(configuration_id, None)
        if fd is not None:
            os.close(fd)

    def idle(self) -> bool:
        """Whether no process works on the dataset any more (this one having left); ask under
        :attr:`kb_lock`, so that none joins meanwhile."""
        if fcntl is None:
            return True
        try:
            fd = os.open(self.folder / "active", os.O_RDWR)
        except FileNotFoundError:  # the last process has tidied up already
            return True
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        finally:
            os.close(fd)
        return True

    def remove(self) -> None:
        """Remove the lock files (by the last process, under :attr:`kb_lock`, so that no process
        joins meanwhile)."""
        shutil.rmtree(self.folder, ignore_errors=True)
