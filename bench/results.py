"""The committed record of benchmark runs that take hours: one JSON object per line, appended.

Runs that cost hours must outlive the machine they ran on, so their record lives in the
repository (``bench/results/``), not in the ignored ``bench/out/``: a later session resumes it
and the reports are written from it. Appending one line per finished run lets several
processes (the halves of a benchmark's datasets on two cores) share one file; a key recorded
more than once (a run made again) is read as its last line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from metarec.files import append_jsonl, read_jsonl
from metarec.jsonable import to_jsonable

RESULTS = Path(__file__).resolve().parent / "results"


def append(path: Path, key: str, record: dict[str, Any]) -> None:
    """Add ``record`` under ``key`` as one line at the end of ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    append_jsonl(path, [to_jsonable({"key": key, **record})])


def read(path: Path) -> dict[str, dict[str, Any]]:
    """Every key's last record in ``path`` (empty if there is none)."""
    records: dict[str, dict[str, Any]] = {}
    for record in read_jsonl(path):
        if "key" in record:
            records[str(record.pop("key"))] = record
    return records
