"""Atomic writes of files and directories, append-only JSON-lines records, and the one cache
directory metarec uses.

An atomic write goes to a temporary sibling of the target (the same directory, so the same file
system) that is renamed onto the target only once it is complete: a reader, or the next run after
a crash, sees the old content or the new one, never half of one. When the write fails the
temporary is removed and the target is left as it was. Locks, where a writer needs one around a
read-modify-write, stay with the caller (see :func:`metarec.kb.store.lock_for`).

A JSON-lines record is how long work (a run campaign, ``kb add``, a benchmark) keeps each result
as it arrives, so that a run killed at any point resumes where it stopped.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import secrets
import shutil
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


def cache_root() -> Path:
    """Where metarec caches what it can recompute: ``METAREC_CACHE_DIR`` if set, else the
    user's cache directory (``~/.cache/metarec`` on Linux). Each cache has a sub-folder."""
    override = os.environ.get("METAREC_CACHE_DIR")
    if override:
        return Path(override)
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("metarec", appauthor=False))


def _sibling(path: Path, kind: str) -> Path:
    # Hidden, unique per process and call, so concurrent writers never share a temporary.
    return path.with_name(f".{path.name}.{kind}-{os.getpid()}-{secrets.token_hex(4)}")


@contextlib.contextmanager
def atomic_path(path: str | Path, mode: int | None = None) -> Iterator[Path]:
    """Yield a temporary sibling of ``path`` to write (by any means); on success it replaces
    ``path``, on an exception it is removed and ``path`` stays as it was.

    The temporary exists, empty, when yielded. Its permissions are those of any new file
    (0o666 less the umask) unless ``mode`` is given. ``path``'s folder is created if needed.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _sibling(path, "tmp")
    os.close(os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666))
    try:
        yield tmp
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def atomic_write_text(path: str | Path, text: str, mode: int | None = None) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically; see :func:`atomic_path`."""
    with atomic_path(path, mode) as tmp:
        tmp.write_text(text, encoding="utf-8")


@contextlib.contextmanager
def atomic_directory(
    path: str | Path, mode: int | None = None, overwrite: bool = True
) -> Iterator[Path]:
    """Yield a new, empty temporary sibling directory of ``path`` to fill; on success it takes
    ``path``'s place, on an exception it is removed and ``path`` stays as it was.

    A directory with contents cannot be replaced by one rename, so with ``overwrite`` an existing
    ``path`` is first renamed aside and removed after the swap (both renames on one file system;
    for that moment ``path`` is absent). Without ``overwrite`` an existing non-empty ``path``
    makes the final rename fail with an ``OSError`` and is kept. The directory's permissions are
    those of any new directory (0o777 less the umask) unless ``mode`` is given.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _sibling(path, "tmp")
    tmp.mkdir()
    old = None
    try:
        yield tmp
        if mode is not None:
            tmp.chmod(mode)
        if overwrite and (path.exists() or path.is_symlink()):
            old = _sibling(path, "old")
            os.replace(path, old)
        try:
            os.replace(tmp, path)
        except BaseException:
            if old is not None:
                os.replace(old, path)
                old = None
            raise
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if old is not None:
        if old.is_dir() and not old.is_symlink():
            shutil.rmtree(old, ignore_errors=True)
        else:
            old.unlink(missing_ok=True)


def append_jsonl(path: str | Path, records: Iterable[Mapping[str, Any]]) -> None:
    """Add ``records`` at the end of ``path``, one JSON object per line, and make them durable.

    All lines go in one ``write`` on a file opened for appending, so processes appending to the
    same file never interleave their lines; a process killed mid-write leaves at most its last
    line cut short, which :func:`read_jsonl` skips."""
    text = "".join(json.dumps(dict(record)) + "\n" for record in records)
    if not text:
        return
    descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(descriptor, text.encode("utf-8"))
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def read_jsonl(path: str | Path) -> list[dict[str, Any]]:
    """The records of ``path`` in the order they were appended (none if it does not exist).
    A line cut short by a kill is skipped and logged: its work is done again."""
    path = Path(path)
    if not path.is_file():
        return []
    records = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            log.warning("%s:%d is not a whole record (a write cut short); skipped", path, number)
            continue
        if isinstance(record, dict):
            records.append(record)
    return records
