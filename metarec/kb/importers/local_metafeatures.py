"""Meta-features computed locally by ``metafeatures.extract`` from the raw datasets we hold.

Only datasets whose OpenML dataset id is known (INDEX.csv of openml_arff and pmlb) are profiled, so
the values join the runs through the OpenML id; they carry origin ``local`` beside OpenML's own
stored values (origin ``openml``), so the two stay distinguishable.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from metarec.kb.importers._common import ImportResult

# The values carry origin "local" (computed here, not stored by OpenML).
SOURCE = "local_metafeatures"
FOLDER = "datasets"
# Profiling every raw dataset takes minutes; the shipped build caps it per dataset size.
# Profiled after the run sources, only for the OpenML datasets those bring (see build.py).
NEEDS_KB_DIDS = True
MAX_ROWS = int(os.environ.get("METAREC_KB_LOCAL_MAX_ROWS", "50000"))


def _candidates(root: Path) -> list[tuple[int, Path, str | None]]:
    out: list[tuple[int, Path, str | None]] = []
    arff_index = root / FOLDER / "openml_arff/INDEX.csv"
    if arff_index.exists():
        index = pd.read_csv(arff_index)
        for row in index.itertuples():
            if pd.isna(row.openml_did) or row.n_rows > MAX_ROWS or bool(row.sparse_arff):
                continue
            folder = root / FOLDER / "openml_arff" / row.name
            files = sorted(folder.glob("*.arff.gz")) or sorted(folder.glob("*.csv.gz"))
            # mammography's ARFF is truncated upstream; its CSV is whole.
            if row.name == "mammography":
                files = sorted(folder.glob("*.csv.gz"))
            if files:
                out.append((int(row.openml_did), files[0], None))
    pmlb_index = root / FOLDER / "pmlb/INDEX.csv"
    if pmlb_index.exists():
        index = pd.read_csv(pmlb_index)
        for row in index.itertuples():
            if pd.isna(row.openml_did) or row.n_rows > MAX_ROWS:
                continue
            file = root / FOLDER / "pmlb/datasets" / row.name / f"{row.name}.tsv.gz"
            if file.exists():
                out.append((int(row.openml_did), file, str(row.target_col)))
    seen: set[int] = set()
    unique = []
    for did, file, target in sorted(out, key=lambda t: (t[0], str(t[1]))):
        if did not in seen:  # the OpenML ARFF (sorted first by path) wins over PMLB's copy
            seen.add(did)
            unique.append((did, file, target))
    return unique


def load(root: Path, only: set[int] | None = None) -> ImportResult:
    import metafeatures
    from metarec.errors import MetaRecError
    from metarec.io import load_dataset

    rows = []
    for did, file, target in _candidates(root):
        if only is not None and did not in only:
            continue
        try:
            data = load_dataset(file, target=target, lenient=True)
            values = metafeatures.extract(data.X, data.y, random_state=0, task=data.task)
        except (MetaRecError, metafeatures.MetaFeatureError, ValueError):
            continue  # a file our reader cannot type is skipped, not guessed at
        for quality, value in values.items():
            rows.append((f"did:{did}", str(quality), float(value)))
    mf = pd.DataFrame(rows, columns=["dataset_key", "quality", "value"]).assign(
        origin="local", source=SOURCE
    )
    return ImportResult(
        source=SOURCE,
        provenance=["datasets/openml_arff/PROVENANCE.txt", "datasets/pmlb/PROVENANCE.txt"],
        datasets=pd.DataFrame(columns=["dataset_key", "openml_did"]),
        metafeatures=mf.dropna(subset=["value"]),
        reference_only=True,
    )
