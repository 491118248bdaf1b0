"""The committed record of benchmark runs that take hours: one JSON object per line, appended.

Runs that cost hours must outlive the machine they ran on, so their record lives in the
repository (``bench/results/``), not in the ignored ``bench/out/``: a later session resumes it
and the reports are written from it. Appending one line per finished run lets several
processes (the halves of a benchmark's datasets on two cores) share one file; a key recorded
more than once (a run made again) is read as its last line.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

from metarec.jsonable import to_jsonable

RESULTS = Path(__file__).resolve().parent / "results"


def append(path: Path, key: str, record: dict[str, Any]) -> None:
    """Add ``record`` under ``key`` as one line at the end of ``path``."""
    line = json.dumps(to_jsonable({"key": key, **record}), allow_nan=False, sort_keys=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    # One write() on a file opened with O_APPEND: concurrent writers never interleave a line.
    descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(descriptor, (line + "\n").encode("utf-8"))
    finally:
        os.close(descriptor)


def read(path: Path) -> dict[str, dict[str, Any]]:
    """Every key's last record in ``path`` (empty if there is none). A line cut short by a
    crash is skipped, and named on stderr."""
    records: dict[str, dict[str, Any]] = {}
    if not path.exists():
        return records
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            key = record.pop("key")
        except (json.JSONDecodeError, KeyError, AttributeError):
            print(f"{path}:{number}: not a whole record; skipped", file=sys.stderr)
            continue
        records[key] = record
    return records
