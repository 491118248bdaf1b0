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


# Sources whose recorded value we can recompute here: metric -> (scikit-learn scorer, transform).
CHECKS = {
    "oboe": ("balanced_error_rate", "balanced_accuracy", lambda score: 1.0 - score),
    "openml100": ("predictive_accuracy", "accuracy", lambda score: score),
}


def check_translations(n_datasets: int, n_configs: int, folds: int) -> str:
    """Re-run translated configurations on raw OpenML datasets held locally and compare.

    The recorded values come from the sources' own protocols (Oboe: its own CV; OpenML100:
    OpenML's 10-fold task splits), so single differences include CV noise; what matters is that
    the translated pipelines land near the recorded values and keep their order.
    """
    import json
    import warnings

    import numpy as np
    import pandas as pd
    from scipy.stats import spearmanr
    from sklearn.model_selection import StratifiedKFold, cross_val_score

    from metarec import pipelines
    from metarec.io import load_dataset

    shipped = kb.load()
    index = pd.read_csv(SHARED / "datasets/openml_arff/INDEX.csv")
    index = index[index["target_note"].isna() & ~index["sparse_arff"]].sort_values("n_rows")
    configs = shipped.configurations.set_index("configuration_id")
    lines = ["| source | metric | pairs | datasets | mean abs. difference | Spearman rho |",
             "|---|---|---:|---:|---:|---:|"]
    for source, (metric, scoring, transform) in CHECKS.items():
        runs = shipped.runs[(shipped.runs["source"] == source) & (shipped.runs["metric"] == metric)]
        pairs = []
        used = 0
        for row in index.itertuples():
            if used == n_datasets:
                break
            mine = runs[runs["dataset_id"] == f"openml-{int(row.openml_did)}"]
            if mine.empty:
                continue
            folder = SHARED / "datasets/openml_arff" / row.name
            files = sorted(folder.glob("*.arff.gz"))
            if not files:
                continue
            data = load_dataset(files[0], lenient=True)
            if data.task != "classification" or data.y.value_counts().min() < folds:
                continue
            used += 1
            # One configuration per algorithm first, then by id: a spread, reproducibly.
            mine = mine.merge(configs[["algorithm"]], left_on="configuration_id",
                              right_index=True).sort_values("configuration_id")
            picked = pd.concat([mine.groupby("algorithm").head(1), mine]).drop_duplicates(
                "configuration_id").head(n_configs)
            splitter = StratifiedKFold(folds, shuffle=True, random_state=0)
            for run in picked.itertuples():
                spec = json.loads(configs.loc[run.configuration_id, "spec"])
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    score = cross_val_score(pipelines.build(spec), data.X, data.y, cv=splitter,
                                            scoring=scoring).mean()
                pairs.append((run.value, transform(score)))
        recorded, ours = np.array(pairs).T
        rho = spearmanr(recorded, ours).statistic
        lines.append(f"| {source} | {metric} | {len(pairs)} | {used} | "
                     f"{np.mean(np.abs(recorded - ours)):.3f} | {rho:.2f} |")
    return "\n".join([
        "### Translated configurations re-run on raw OpenML datasets",
        "",
        f"Up to {n_configs} configurations on each of the {n_datasets} smallest datasets of "
        f"`datasets/openml_arff` that the source ran, {folds}-fold stratified CV here; recorded "
        "value vs our value of the same metric.",
        "",
        *lines,
    ])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument("--no-build", action="store_true", help="skip the build timing")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--no-check", action="store_true",
                        help="skip re-running translated configurations")
    parser.add_argument("--check-datasets", type=int, default=6)
    parser.add_argument("--check-configs", type=int, default=12)
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
    if not args.no_check and SHARED.exists():
        markdown += "\n\n" + check_translations(args.check_datasets, args.check_configs, 5)
    print(markdown)
    if not args.no_write:
        write_section("knowledge_base", markdown)


if __name__ == "__main__":
    main()
