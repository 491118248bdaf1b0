"""End-to-end wall time of `metarec recommend` on a 10,000 x 20 CSV, including process start.

Run: ``python -m bench.bench_recommend``. A first, untimed call fits (or loads) the meta-learner;
the timed calls are what a user sees afterwards. ``metarec --help`` and ``metarec profile`` are
timed in the same run as baselines (process start alone; reading and profiling alone).
Writes the "recommend_speed" section of docs/benchmarks.md.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPEATS = 5
METAREC = Path(sys.executable).parent / "metarec"


def make_csv(path: Path, n_rows: int = 10_000, n_cols: int = 20, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_rows, n_cols))
    frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(n_cols)])
    frame["x19"] = rng.choice(["red", "green", "blue"], n_rows)
    frame["y"] = np.where(X[:, 0] + 0.5 * X[:, 1] + rng.normal(size=n_rows) > 0, "yes", "no")
    frame.to_csv(path, index=False)
    return path


def wall(args: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run([str(METAREC), *args], check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> int:
    from bench.report import machine_line, write_section

    with tempfile.TemporaryDirectory() as tmp:
        data = make_csv(Path(tmp) / "data.csv")
        recommend = ["recommend", str(data), "--target", "y", "--json"]
        profile = ["profile", str(data), "--target", "y", "--json", "-g", "simple"]
        first = wall(recommend)
        times = {
            "metarec --help": [wall(["--help"]) for _ in range(REPEATS)],
            "metarec profile (simple group)": [wall(profile) for _ in range(REPEATS)],
            "metarec recommend": [wall(recommend) for _ in range(REPEATS)],
        }
    lines = [
        "## `metarec recommend` end to end",
        "",
        f"`python -m bench.bench_recommend` on {machine_line()}. 10,000 x 20 CSV (19 numeric, "
        "1 nominal column, binary target), shipped knowledge base, wall time of the whole "
        f"process, median of {REPEATS} runs; the first call (which fits or loads the meta-learner "
        f"and the Python caches) took {first:.2f} s and is not in the median.",
        "",
        "| command | median s | min s | ratio to `--help` |",
        "|---|---:|---:|---:|",
    ]
    base = statistics.median(times["metarec --help"])
    for name, values in times.items():
        med = statistics.median(values)
        lines.append(f"| {name} | {med:.2f} | {min(values):.2f} | {med / base:.1f}x |")
    write_section("recommend_speed", "\n".join(lines))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
