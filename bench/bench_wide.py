"""Wall time and peak memory of `metarec profile` and `metarec recommend --json` against the
number of columns: 200 rows x 1,000 / 5,000 / 20,000 columns and 1,000 rows x 100,000 columns;
`metarec tune --trials 2` as well on the 200-row tables.

Run: ``python -m bench.bench_wide`` (about 10 minutes on 2 cores; ``--sizes 200x1000,200x5000``
for a subset, ``--keep DIR`` to keep the generated files). Writes the "wide" section of
docs/benchmarks.md.

Each table is a seeded synthetic CSV written to disk first: numeric columns rounded to 3 decimals
(about 7 bytes a cell, so 200 x 20,000 is a 30 MB file and 1,000 x 100,000 a 700 MB one), one
column in ten with 2% of its values missing, a few nominal columns and a binary target that
depends on the first five columns. Every command runs as its own process, as a user would run it,
under ``/usr/bin/time -f '%e %M'`` (wall seconds, peak resident memory of the process); the
meta-learner is fitted (or loaded from its cache) by one untimed call first.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

METAREC = Path(sys.executable).parent / "metarec"
SIZES = ((200, 1_000), (200, 5_000), (200, 20_000), (1_000, 100_000))
N_NOMINAL = 5
# Targets from the issue that asked for this benchmark (seconds, MB of peak resident memory).
TARGETS = {(200, 20_000): (15, 1_500), (1_000, 100_000): (60, 3_000)}
# `tune --trials 2` is timed on tables up to this wide.
TUNE_MAX_COLUMNS = 20_000
# Rows written per chunk: keeps the generator's own memory at a few hundred MB for any width.
CHUNK_ROWS = 100


def make_csv(path: Path, n_rows: int, n_cols: int, seed: int = 0) -> Path:
    """Write a seeded ``n_rows`` x ``n_cols`` feature table plus a target column ``y``."""
    import pyarrow as pa
    from pyarrow import csv

    rng = np.random.default_rng(seed)
    n_numeric = n_cols - N_NOMINAL
    names = [f"x{i}" for i in range(n_numeric)] + [f"c{i}" for i in range(N_NOMINAL)] + ["y"]
    with_missing = np.arange(n_numeric) % 10 == 9
    writer = None
    try:
        for start in range(0, n_rows, CHUNK_ROWS):
            rows = min(CHUNK_ROWS, n_rows - start)
            values = np.round(rng.standard_normal((rows, n_numeric)), 3)
            holes = (rng.random((rows, n_numeric)) < 0.02) & with_missing
            signal = values[:, :5].sum(axis=1)
            values[holes] = np.nan
            columns = [pa.array(values[:, j], from_pandas=True) for j in range(n_numeric)]
            columns += [
                pa.array(rng.choice(["red", "green", "blue", "grey"][: 2 + i % 3], rows))
                for i in range(N_NOMINAL)
            ]
            noise = rng.standard_normal(rows)
            columns.append(pa.array(np.where(signal + noise > 0, "yes", "no")))
            table = pa.Table.from_arrays(columns, names=names)
            if writer is None:
                writer = csv.CSVWriter(str(path), table.schema)
            writer.write_table(table)
    finally:
        if writer is not None:
            writer.close()
    return path


def measure(args: list[str]) -> tuple[float, float]:
    """(wall seconds, peak resident MB) of one ``metarec`` process."""
    completed = subprocess.run(
        ["/usr/bin/time", "-f", "%e %M", str(METAREC), *args],
        capture_output=True,
        text=True,
    )
    last = completed.stderr.strip().splitlines()[-1]
    if completed.returncode != 0:
        raise RuntimeError(f"metarec {' '.join(args)} failed:\n{completed.stderr[-2000:]}")
    seconds, kilobytes = last.split()
    return float(seconds), float(kilobytes) / 1024


def run_size(folder: Path, n_rows: int, n_cols: int) -> dict[str, float]:
    data = make_csv(folder / f"wide_{n_rows}x{n_cols}.csv", n_rows, n_cols)
    size_mb = data.stat().st_size / 2**20
    profile = ["profile", str(data), "--target", "y", "--json"]
    recommend = ["recommend", str(data), "--target", "y", "--json"]
    row = {"rows": n_rows, "columns": n_cols, "file_mb": size_mb}
    row["profile_s"], row["profile_mb"] = measure(profile)
    row["recommend_s"], row["recommend_mb"] = measure(recommend)
    if n_cols <= TUNE_MAX_COLUMNS:
        tune = ["tune", str(data), "--target", "y", "--trials", "2", "--json"]
        row["tune_s"], row["tune_mb"] = measure(tune)
    print(
        f"{n_rows} x {n_cols}: file {size_mb:.0f} MB; profile {row['profile_s']:.1f} s "
        f"{row['profile_mb']:.0f} MB; recommend {row['recommend_s']:.1f} s "
        f"{row['recommend_mb']:.0f} MB; tune {row.get('tune_s', float('nan')):.1f} s",
        flush=True,
    )
    return row


def parse_sizes(text: str) -> list[tuple[int, int]]:
    return [tuple(int(v) for v in item.lower().split("x")) for item in text.split(",") if item]


def main(argv: list[str] | None = None) -> int:
    from bench.report import machine_line, write_section

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=parse_sizes, default=list(SIZES))
    parser.add_argument("--keep", type=Path, default=None, help="Keep generated files here.")
    parser.add_argument("--no-write", action="store_true", help="Print only.")
    args = parser.parse_args(argv)

    machine = machine_line()
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        # Untimed: fits (or loads) the meta-learner once so the timings are what a user sees later.
        warm = make_csv(folder / "warm.csv", 50, 10)
        subprocess.run(
            [str(METAREC), "recommend", str(warm), "--target", "y", "--json"],
            check=True,
            capture_output=True,
        )
        rows = [run_size(folder, n, p) for n, p in args.sizes]
    load_end = os.getloadavg()[0]
    lines = [
        "## Wide tables (`bench/bench_wide.py`)",
        "",
        f"`python -m bench.bench_wide` on {machine}; {load_end:.1f} at the end. Seeded synthetic "
        f"CSV files (numeric columns, {N_NOMINAL} nominal ones, one column in ten with 2% missing "
        "values, binary target); each command is its own process, timed with `/usr/bin/time -f "
        "'%e %M'`: wall seconds and peak resident memory. `profile` computes every group "
        "(landmarkers included); `recommend --json` profiles without landmarkers and ranks "
        "with the shipped knowledge base; `tune --trials 2` (5-fold CV; the two trials are "
        "the first warm-start recommendations, on tables wider than 1,000 columns reduced as "
        "[tuning.md](tuning.md#the-search-space-metarectuningspace) describes; then the best "
        "is refitted) on the 200-row tables. Pairwise statistics are bounded as "
        "[metafeatures.md](metafeatures.md#wide-tables) describes. Before these bounds, "
        "`profile` on another 200 x 20,000 CSV (32 MB) took 120 s and 7.9 GB and "
        "`tune --trials 2` did not finish in 300 s.",
        "",
        "| rows x columns | file | profile: s | profile: peak MB | recommend: s "
        "| recommend: peak MB | tune --trials 2: s | tune: peak MB | target (profile, "
        "recommend) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for row in rows:
        target = TARGETS.get((row["rows"], row["columns"]))
        shown = f"< {target[0]} s, < {target[1]:,} MB" if target else ""
        lines.append(
            f"| {row['rows']:,} x {row['columns']:,} | {row['file_mb']:.0f} MB "
            f"| {row['profile_s']:.1f} | {row['profile_mb']:,.0f} "
            f"| {row['recommend_s']:.1f} | {row['recommend_mb']:,.0f} "
            + (f"| {row['tune_s']:.1f} | {row['tune_mb']:,.0f} " if "tune_s" in row else "| — | — ")
            + f"| {shown} |"
        )
    markdown = "\n".join(lines)
    print(markdown)
    if not args.no_write:
        write_section("wide", markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
