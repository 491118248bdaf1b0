"""Speed and memory of the meta-feature extractor, side by side with pymfe 0.4.4.

Run: ``python -m bench.bench_metafeatures`` (about 10 minutes on 2 cores). Writes the
"metafeatures_speed" section of docs/benchmarks.md.

Both libraries profile the same data in the same process run: our simple + statistical +
info-theory groups against pymfe's general + statistical + info-theory, then landmarking against
landmarking. The feature sets are not identical (pymfe summarises each measure with mean and sd,
we with OpenML's mean/min/max/quartiles), so the table gives both feature counts. Our landmarkers
use a 5,000-row sample with 5-fold CV; pymfe is timed with its defaults (10-fold CV on all
rows) and,
for a like-for-like comparison, on the same number of sampled rows with 5-fold CV (its
``lm_sample_frac`` cannot go below 0.5).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

import metafeatures
from metafeatures.landmarking import SAMPLE_ROWS

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
OPENML_ARFF = SHARED / "datasets" / "openml_arff"
SHARED_DATASETS = ["letter", "electricity", "nursery", "mfeat-pixel", "bank-marketing"]
OUR_BASIC = ["simple", "statistical", "info-theory"]
PYMFE_BASIC = ["general", "statistical", "info-theory"]
# pymfe's landmarking on all rows of the largest tables takes many minutes; above this size only
# the like-for-like (sampled) pymfe landmarking run is made.
PYMFE_FULL_LANDMARKING_MAX_ROWS = 20_000


def synthetic(n_rows: int, n_cols: int, seed: int = 0) -> tuple[pd.DataFrame, pd.Series]:
    """Numeric table with a few categorical columns and a 3-class target that depends on it."""
    rng = np.random.default_rng(seed)
    numeric = rng.standard_normal((n_rows, n_cols - n_cols // 5))
    X = pd.DataFrame(numeric, columns=[f"x{i}" for i in range(numeric.shape[1])])
    for j in range(n_cols // 5):
        X[f"c{j}"] = pd.Categorical.from_codes(
            rng.integers(0, 4 + j % 5, n_rows), [f"v{k}" for k in range(4 + j % 5)]
        )
    logits = numeric[:, :3] @ np.array([1.0, -0.5, 0.25])
    y = pd.Series(np.digitize(logits, [-0.5, 0.5])).astype("category")
    return X, y


def shared_dataset(name: str) -> tuple[pd.DataFrame, pd.Series]:
    from metarec.io import load_dataset

    path = sorted((OPENML_ARFF / name).glob("*.arff.gz"))[0]
    dataset = load_dataset(path, lenient=True)
    return dataset.X, dataset.y


def to_pymfe(X: pd.DataFrame, y: pd.Series) -> tuple[np.ndarray, np.ndarray, list[int]]:
    cat_cols = [i for i, c in enumerate(X.columns) if not pd.api.types.is_numeric_dtype(X[c])]
    arr = X.astype(object).to_numpy() if cat_cols else X.to_numpy(dtype=float)
    return arr, y.cat.codes.to_numpy(), cat_cols


# CPU seconds of this process (all threads) are the measure: on a machine shared with other work,
# wall time mostly measures the neighbours. Wall time is reported beside it for the large table.
clock = time.process_time


def time_ours(
    X: pd.DataFrame, y: pd.Series, groups: list[str], repeats: int = 2
) -> tuple[float, int]:
    best, n = np.inf, 0
    for _ in range(repeats):
        start = clock()
        values = metafeatures.extract(X, y, groups=groups)
        best = min(best, clock() - start)
        n = len(values)
    return best, n


def time_pymfe(X: pd.DataFrame, y: pd.Series, groups: list[str], **kw: object) -> tuple[float, int]:
    from pymfe.mfe import MFE

    arr, target, cat_cols = to_pymfe(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        start = clock()
        mfe = MFE(groups=groups, random_state=0, **kw)
        mfe.fit(arr, target, cat_cols=cat_cols, suppress_warnings=True)
        names, _ = mfe.extract(suppress_warnings=True)
        return clock() - start, len(names)


def compare(name: str, X: pd.DataFrame, y: pd.Series) -> dict[str, object]:
    row: dict[str, object] = {"data": name, "shape": f"{X.shape[0]:,} x {X.shape[1]}"}
    ours, n_ours = time_ours(X, y, OUR_BASIC)
    theirs, n_theirs = time_pymfe(X, y, PYMFE_BASIC)
    row.update(basic_ours=ours, basic_pymfe=theirs, basic_features=f"{n_ours} / {n_theirs}")
    ours_lm, _ = time_ours(X, y, ["landmarking"], repeats=1)
    # pymfe's own lm_sample_frac cannot go below 0.5, so the like-for-like run gets the sample.
    sample = X.sample(n=min(SAMPLE_ROWS, len(X)), random_state=0).index
    theirs_lm_sampled, _ = time_pymfe(X.loc[sample], y.loc[sample], ["landmarking"], num_cv_folds=5)
    theirs_lm_full = np.nan
    if len(X) <= PYMFE_FULL_LANDMARKING_MAX_ROWS:
        theirs_lm_full, _ = time_pymfe(X, y, ["landmarking"])
    row.update(lm_ours=ours_lm, lm_pymfe_sampled=theirs_lm_sampled, lm_pymfe_full=theirs_lm_full)
    print(json.dumps(row, default=float), flush=True)
    return row


MEMORY_PROBE = """
import json, resource, sys, time
import numpy as np, pandas as pd
import metafeatures
n, p = int(sys.argv[1]), int(sys.argv[2])
rng = np.random.default_rng(0)
X = pd.DataFrame(rng.standard_normal((n, p)), columns=[f"x{i}" for i in range(p)])
y = pd.Series(rng.integers(0, 3, n)).astype("category")
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
start, cpu_start = time.perf_counter(), time.process_time()
values = metafeatures.extract(X, y)
seconds, cpu = time.perf_counter() - start, time.process_time() - cpu_start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"seconds": seconds, "cpu_seconds": cpu, "data_mib": before, "peak_mib": peak,
                  "n": len(values)}))
"""


def large_table(n_rows: int = 1_000_000, n_cols: int = 100) -> dict[str, float]:
    """Profile a 1,000,000 x 100 table in a fresh process so its peak RSS is the extractor's."""
    out = subprocess.run(
        [sys.executable, "-c", MEMORY_PROBE, str(n_rows), str(n_cols)],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    from bench.report import machine_line, write_section

    cases: list[tuple[str, pd.DataFrame, pd.Series]] = []
    if OPENML_ARFF.exists():
        cases += [(name, *shared_dataset(name)) for name in SHARED_DATASETS]
    cases += [("synthetic", *synthetic(20_000, 30)), ("synthetic", *synthetic(100_000, 50))]
    rows = [compare(*case) for case in cases]
    big = large_table()
    print(json.dumps(big), flush=True)

    table = pd.DataFrame(rows)
    basic_ratio = table["basic_pymfe"] / table["basic_ours"]
    lm_ratio_sampled = table["lm_pymfe_sampled"] / table["lm_ours"]
    lm_ratio_full = table["lm_pymfe_full"] / table["lm_ours"]
    lines = [
        "## Meta-feature extraction speed vs pymfe 0.4.4",
        "",
        f"`python -m bench.bench_metafeatures` on {machine_line()}. CPU seconds (all threads of "
        "the process) in one run; ratio = pymfe / metarec (higher is better for metarec). "
        "Basic = our simple + statistical + info-theory vs pymfe's general + statistical + "
        "info-theory (feature counts: ours / pymfe's). Landmarking: ours on a 5,000-row sample "
        "with 5-fold CV; pymfe on a 5,000-row sample with 5-fold CV (like for like), "
        "and with its defaults (all rows, 10-fold) on tables of up to 20,000 rows.",
        "",
        "| data | shape | basic: metarec s | basic: pymfe s | ratio | features | "
        "landmarking: metarec s | pymfe (5k sample) s | ratio | pymfe (defaults) s | ratio |",
        "|---|---|---:|---:|---:|---|---:|---:|---:|---:|---:|",
    ]
    for i, r in table.iterrows():
        full = "—" if np.isnan(r["lm_pymfe_full"]) else f"{r['lm_pymfe_full']:.2f}"
        full_ratio = "—" if np.isnan(lm_ratio_full[i]) else f"{lm_ratio_full[i]:.1f}x"
        lines.append(
            f"| {r['data']} | {r['shape']} | {r['basic_ours']:.3f} | {r['basic_pymfe']:.2f} | "
            f"{basic_ratio[i]:.1f}x | {r['basic_features']} | {r['lm_ours']:.2f} | "
            f"{r['lm_pymfe_sampled']:.2f} | {lm_ratio_sampled[i]:.1f}x | {full} | {full_ratio} |"
        )
    lines += [
        "",
        f"Median ratio, basic groups: **{basic_ratio.median():.1f}x**; landmarking like for like: "
        f"**{lm_ratio_sampled.median():.1f}x**.",
        "",
        f"1,000,000 x 100 (numeric, 3 classes), all groups, fresh process: "
        f"**{big['seconds']:.1f} s** wall ({big['cpu_seconds']:.1f} CPU s), "
        f"peak RSS **{big['peak_mib'] / 1024:.2f} GiB** "
        f"(of which the table itself: {big['data_mib'] / 1024:.2f} GiB).",
    ]
    write_section("metafeatures_speed", "\n".join(lines))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
