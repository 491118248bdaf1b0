"""Compare locally computed meta-features with OpenML's stored qualities.

For every dataset in ../shared/data/datasets/openml_arff with an OpenML id, profile the raw file
with ``metafeatures.extract`` and compare each quality that OpenML also stores.
Run: ``python -m bench.openml_parity`` (writes the "openml_parity" section of docs/benchmarks.md).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

import metafeatures
from metarec.io import read_table

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
ARFF_DIR = SHARED / "datasets" / "openml_arff"
QUALITIES_CSV = (
    SHARED / "metafeatures" / "openml_qualities" / "original_with_ids_all_metafeatures.csv"
)
RTOL = 0.01

# OpenML's default target where it is not the last attribute (see INDEX.csv's notes).
DEFAULT_TARGETS = {
    "lung-cancer": "class",
    "profb": "Home/Away",
    "oil_spill": "class",
    "spectrometer": "LRS-class",
}
# OpenML marks these as row-id attributes: it counts them as features but leaves them out of
# the statistics, so they are dropped for every group except "simple".
ROW_ID_ATTRIBUTES = {"MagicTelescope": "ID"}
# The ARFF of mammography is truncated; its CSV holds the full data.
PREFER_CSV = {"mammography"}
DETERMINISTIC_GROUPS = ["simple", "statistical", "info-theory"]
LANDMARKER_GROUP = ["landmarking"]


def _dataset_file(name: str) -> Path:
    folder = ARFF_DIR / name
    pattern = "*.csv.gz" if name in PREFER_CSV else "*.arff.gz"
    return sorted(folder.glob(pattern))[0]


def load_openml_dataset(name: str) -> tuple[pd.DataFrame, pd.Series]:
    frame = read_table(_dataset_file(name))
    target = DEFAULT_TARGETS.get(name, frame.columns[-1])
    y = frame[target]
    X = frame.drop(columns=[target])
    for col in X.columns:
        if X[col].dtype == object:
            X[col] = X[col].astype("category")
    if not isinstance(y.dtype, pd.CategoricalDtype):
        y = y.astype("category")
    return X, y


def stored_qualities() -> pd.DataFrame:
    table = pd.read_csv(QUALITIES_CSV)
    return table.set_index("Id")


def compare(groups: list[str]) -> pd.DataFrame:
    """One row per (dataset, quality) that both sides define, with the relative difference."""
    index = pd.read_csv(ARFF_DIR / "INDEX.csv")
    stored = stored_qualities()
    rows = []
    for _, entry in index.iterrows():
        did = entry["openml_did"]
        if pd.isna(did) or int(did) not in stored.index:
            continue
        X, y = load_openml_dataset(entry["name"])
        row_id = ROW_ID_ATTRIBUTES.get(entry["name"])
        parts = []
        for group in groups:
            X_group = X.drop(columns=[row_id]) if row_id and group != "simple" else X
            parts.append(metafeatures.extract(X_group, y, groups=[group], task="classification"))
        local = pd.concat(parts)
        theirs = stored.loc[int(did)]
        for quality, value in local.items():
            if quality not in theirs.index or pd.isna(theirs[quality]) or pd.isna(value):
                continue
            ref = float(theirs[quality])
            rel = abs(value - ref) / max(abs(ref), 1e-9)
            rows.append(
                {
                    "dataset": entry["name"],
                    "did": int(did),
                    "quality": quality,
                    "local": float(value),
                    "openml": ref,
                    "rel_diff": rel,
                }
            )
    return pd.DataFrame(rows)


def summarize(table: pd.DataFrame, rtol: float = RTOL) -> pd.DataFrame:
    within = table.assign(match=table["rel_diff"] <= rtol)
    return (
        within.groupby("quality")
        .agg(
            datasets=("match", "size"),
            matched=("match", "sum"),
            median_rel_diff=("rel_diff", "median"),
        )
        .assign(share=lambda t: t["matched"] / t["datasets"])
        .sort_values("share")
    )


def main() -> int:
    from bench.report import machine_line, write_section

    if not ARFF_DIR.exists():
        print(f"{ARFF_DIR} not found; nothing to compare.", file=sys.stderr)
        return 1
    exact = compare(DETERMINISTIC_GROUPS)
    per_quality = summarize(exact)
    share = float((exact["rel_diff"] <= RTOL).mean())
    n_matched_names = int((per_quality["share"] >= 0.95).sum())
    land = compare(LANDMARKER_GROUP)
    land_abs = (land["local"] - land["openml"]).abs()
    land_summary = land.assign(abs_diff=land_abs).groupby("quality")["abs_diff"].median()
    lines = [
        "## Meta-features vs OpenML's stored qualities",
        "",
        f"`python -m bench.openml_parity` on {machine_line()}.",
        f"Datasets compared: {exact['dataset'].nunique()} (openml_arff files with an OpenML id).",
        f"Deterministic qualities (simple, statistical, info-theory): {len(per_quality)} names, "
        f"{len(exact)} (dataset, quality) values; **{share:.1%} within {RTOL:.0%} relative**; "
        f"{n_matched_names} names match on >= 95% of datasets.",
        "",
        "| quality | datasets | within 1% | median rel. diff |",
        "|---|---:|---:|---:|",
    ]
    for quality, row in per_quality.iterrows():
        share, diff = row["share"], row["median_rel_diff"]
        lines.append(f"| {quality} | {int(row['datasets'])} | {share:.0%} | {diff:.2g} |")
    lines += [
        "",
        "Landmarkers are scikit-learn stand-ins for OpenML's Weka learners (5-fold CV on a "
        "sample of at most 5,000 rows), so they are compared by median absolute difference, "
        "not expected to match:",
        "",
        "| landmarker | median abs. diff |",
        "|---|---:|",
    ]
    lines += [f"| {q} | {v:.3f} |" for q, v in land_summary.sort_index().items()]
    write_section("openml_parity", "\n".join(lines))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
