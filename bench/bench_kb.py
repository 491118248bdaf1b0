"""Knowledge-base figures: size per source, build time, load time.

Run from the repository root (needs ../shared/data for the build timing):

    .venv/bin/python -m bench.bench_kb            # writes the knowledge_base section
    .venv/bin/python -m bench.bench_kb --no-write # prints only

The build is timed into a temporary folder, so the shipped knowledge base is not touched.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.report import machine_line, write_section
from metarec import kb
from metarec.kb import build

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"


def _load_times(repeats: int) -> tuple[float, float]:
    kb.load()  # warm the file cache and the imports
    warm = []
    for _ in range(repeats):
        started = time.perf_counter()
        kb.load()
        warm.append(time.perf_counter() - started)
    code = "import time; t = time.perf_counter(); import metarec.kb; metarec.kb.load(); " \
           "print(time.perf_counter() - t)"
    cold = [float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                 check=True, cwd=REPO).stdout) for _ in range(3)]
    return statistics.median(warm), statistics.median(cold)


def _size_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.glob("*") if p.is_file()) / 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument("--no-build", action="store_true", help="skip the build timing")
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()

    shipped = kb.load()
    summary = shipped.summary()
    warm, cold = _load_times(args.repeats)
    build_line = "not measured (`--no-build` or no ../shared/data)"
    if not args.no_build and SHARED.exists():
        with tempfile.TemporaryDirectory() as tmp:
            started = time.perf_counter()
            manifest = build.build(SHARED, Path(tmp) / "kb")
            seconds = time.perf_counter() - started
            same = manifest["tables"] == shipped.manifest["tables"]
        build_line = (f"{seconds:.0f} s for all sources (incl. local meta-features); "
                      f"rebuilt tables {'identical to' if same else 'DIFFERENT from'} "
                      "the shipped ones (sha256)")

    rows = ["| source | datasets | configurations (with runs) | runs | metrics |",
            "|---|---:|---:|---:|---|"]
    for name, src in summary["sources"].items():
        rows.append(f"| {name} | {src['datasets']:,} | {src['configurations']:,} | "
                    f"{src['runs']:,} | {', '.join(src['metrics'])} |")
    rows.append(f"| **all, distinct** | **{summary['datasets']:,}** | "
                f"**{summary['configurations']:,}** (table) | **{summary['runs']:,}** | |")
    origins = ", ".join(f"{k}: {v:,}" for k, v in summary["metafeatures"].items())
    files = ", ".join(f"{name} {entry['rows']:,} rows"
                      for name, entry in shipped.manifest["tables"].items())
    markdown = "\n".join([
        "## Knowledge base",
        "",
        f"`bench/bench_kb.py` on {machine_line()}; KB version {summary['version']}, built "
        f"{summary['build_date']}.",
        "",
        *rows,
        "",
        f"- Datasets with meta-features, by origin: {origins}.",
        f"- Tables: {files}; {_size_mb(shipped.path):.1f} MB on disk (Parquet, lz4).",
        f"- Load (`metarec.kb.load()`, checksums verified): {warm * 1000:.0f} ms warm (median of "
        f"{args.repeats}), {cold * 1000:.0f} ms in a fresh interpreter including imports "
        "(median of 3).",
        f"- Build (`metarec kb build`): {build_line}.",
        "- Targets (issue 3): >= 450 distinct datasets, >= 400 configurations, >= 150,000 runs.",
    ])
    print(markdown)
    if not args.no_write:
        write_section("knowledge_base", markdown)


if __name__ == "__main__":
    main()
