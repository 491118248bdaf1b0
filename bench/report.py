"""Write one benchmark's results into its own section of docs/benchmarks.md.

Each benchmark owns the text between ``<!-- BEGIN name -->`` and ``<!-- END name -->``; rerunning
it replaces only that section, so benchmarks can be rerun independently.
"""

from __future__ import annotations

import os
import platform
import re
from datetime import datetime, timezone
from pathlib import Path

from metarec.files import atomic_write_text

BENCHMARKS_MD = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"
HEADER = (
    "# Benchmarks\n\nEvery section is written by the `bench/` script it names; "
    "rerun it to refresh.\n"
)


def machine_line() -> str:
    # The load average says how much else the machine was doing while the figures were taken.
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, {datetime.now(timezone.utc):%Y-%m-%d}, "
        f"1-min load average {load:.1f} at the start"
    )


def write_section(name: str, markdown: str, path: Path = BENCHMARKS_MD,
                  after: str | None = None) -> None:
    """Replace the section ``name`` in ``path`` atomically; a new one goes right after the
    section ``after`` when that exists (a benchmark's parts stay together), else at the end."""
    begin, end = f"<!-- BEGIN {name} -->", f"<!-- END {name} -->"
    block = f"{begin}\n{markdown.strip()}\n{end}"
    text = path.read_text(encoding="utf-8") if path.exists() else HEADER
    pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end), re.DOTALL)
    anchor = f"<!-- END {after} -->" if after else None
    if pattern.search(text):
        text = pattern.sub(lambda _: block, text)
    elif anchor and anchor in text:
        at = text.index(anchor) + len(anchor)
        text = text[:at] + "\n\n" + block + text[at:]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    atomic_write_text(path, text)
