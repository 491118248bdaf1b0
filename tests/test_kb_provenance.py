"""Everything the shipped knowledge base and the imputation campaign hold traces to ../shared/data.

Data withdrawn from the shared folder (copies of evaluation data) must leave the shipped tables
too. These tests read each source's keys straight from the shared files (the layout constants come
from the importers) and check every dataset of the shipped KB, and every dataset of the imputation
campaign tables, against what exists there today.
"""

from __future__ import annotations

import csv
import json
import re
from functools import cache
from pathlib import Path

import pandas as pd
import pytest

from metarec import kb
from metarec.imputation import campaign_dir
from metarec.kb.importers import autosklearn, oboe, openml100, tabrepo
from tests.conftest import requires_shared_data

SHIPPED = kb.default_path()
CAMPAIGN = campaign_dir()
pytestmark = requires_shared_data


def _name_key(name: object) -> str:
    # build.py folds names the same way before matching them with OpenML's.
    return re.sub(r"[^0-9a-z]", "", str(name).lower())


def _arff_column(path: Path, column: str) -> set[str]:
    """The values of one column of a dense ARFF file (a light reader: keys only)."""
    names: list[str] = []
    values: set[str] = set()
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            if line.lower().startswith("@attribute"):
                names.append(line.split()[1].strip("'\""))
            elif line.lower().startswith("@data"):
                break
        index = names.index(column)
        for row in csv.reader(handle, quotechar="'", skipinitialspace=True):
            if row and not row[0].startswith("%"):
                values.add(row[index].strip())
    return values


@cache
def source_keys(root: Path) -> dict[str, set]:
    """Per run source, the dataset keys its shared files hold today."""
    oboe_dids = pd.read_csv(root / oboe.FOLDER / "error_matrix.csv", usecols=[0]).iloc[:, 0]
    qualities = root / openml100.FOLDER / "openml-pimp_KDD2018/task_qualities.json"
    openml100_tids = {int(t) for t in json.loads(qualities.read_text(encoding="utf-8"))}
    for files in openml100.FILES.values():
        for rel in files:
            tids = _arff_column(root / openml100.FOLDER / rel, "task_id")
            openml100_tids |= {int(float(t)) for t in tids}
    names = set()
    for folder, _metric, _task in autosklearn._folders(root):
        for table in ("algorithm_runs.arff", "feature_values.arff"):
            names |= _arff_column(folder / table, "instance_id")
    tabrepo_tids = pd.read_csv(root / tabrepo.FOLDER / tabrepo.RESULTS, usecols=["dataset"])
    return {
        "oboe": {int(d) for d in oboe_dids},
        "openml100": openml100_tids,
        "autosklearn": {_name_key(n) for n in names} | {f"name-{n}" for n in names},
        "tabrepo": {int(t) for t in tabrepo_tids["dataset"]},
    }


# run campaign source -> its folder under knowledge_base/campaigns
CAMPAIGNS = {"regression_campaign": "regression", "classification_campaign": "classification"}


def campaign_files(kb_path: Path, root: Path, source: str) -> set[str]:
    """A run campaign's dataset ids whose raw file (selection.json) exists under root."""
    selection = kb_path / "campaigns" / CAMPAIGNS[source] / "selection.json"
    if not selection.is_file():
        return set()
    kept = json.loads(selection.read_text(encoding="utf-8"))["kept"]
    return {e["dataset_id"] for e in kept if (root / e["path"]).is_file()}


def untraced_kb_datasets(kb_path: Path, root: Path) -> dict[str, list[str]]:
    """Per source, the KB datasets credited to that source that its shared files no longer hold.

    A dataset is credited to every source in its ``source`` column and every source of its runs.
    Oboe states OpenML dataset ids; OpenML100 and TabRepo key by OpenML task id (the runs' task
    id, else the dataset's); auto-sklearn names its datasets, and the KB dataset is the OpenML
    dataset of the same (folded) name, or ``name-<its name>`` where no OpenML id was found; the
    run campaigns' ``selection.json`` gives each of their datasets' file under the root.
    """
    shipped = kb.load(kb_path)
    keys = source_keys(root)
    datasets = shipped.datasets
    from_runs = shipped.runs[["dataset_id", "source", "openml_task_id"]].drop_duplicates()
    stated = datasets[["dataset_id", "source", "openml_task_id"]].assign(
        source=datasets["source"].str.split(",")).explode("source")
    known = set(zip(from_runs["dataset_id"], from_runs["source"], strict=True))
    stated = stated[[(d, s) not in known for d, s in zip(stated["dataset_id"], stated["source"],
                                                         strict=True)]]
    pairs = pd.concat([from_runs, stated], ignore_index=True).merge(
        datasets[["dataset_id", "name", "openml_did"]], on="dataset_id", how="left")
    bad: dict[str, list[str]] = {}
    for source, grp in pairs.groupby("source", sort=True):
        if source == "oboe":
            traced = grp["openml_did"].isin(keys["oboe"])
        elif source in ("openml100", "tabrepo"):
            traced = grp["openml_task_id"].isin(keys[source])
        elif source == "autosklearn":
            traced = grp["dataset_id"].isin(keys["autosklearn"]) | grp["name"].map(
                _name_key).isin(keys["autosklearn"])
        elif source in CAMPAIGNS:
            traced = grp["dataset_id"].isin(campaign_files(kb_path, root, source))
        else:
            bad[str(source)] = ["(no provenance rule for this source; add one to this test)"]
            continue
        missing = grp.loc[~traced.fillna(False).astype(bool), "dataset_id"]
        if len(missing):
            bad[str(source)] = sorted(set(map(str, missing)))
    return bad


def campaign_source_file(root: Path, path: object, origin: str) -> Path:
    """The raw file a campaign dataset was read from: its recorded path, else its origin's file."""
    if isinstance(path, str) and path:
        return root.parent / path  # recorded relative to the shared folder ("data/datasets/...")
    kind, _, rest = origin.partition("/")
    folder = root / "datasets"
    if kind == "liac":
        return folder / "liac_arff" / f"{rest}.arff.gz"
    if kind == "pmlb":
        return folder / "pmlb" / "datasets" / rest / f"{rest}.tsv.gz"
    if kind == "openml":
        return next(iter(sorted((folder / "openml_arff" / rest).glob("*.arff.gz"))),
                    folder / "openml_arff" / rest)
    return folder / "unknown origin" / origin


def untraced_campaign_datasets(campaign: Path, root: Path) -> list[str]:
    datasets = pd.read_parquet(campaign / "datasets.parquet")
    bad = []
    for row in datasets.itertuples():
        file = campaign_source_file(root, row.path, str(row.origin))
        # an injected variant's path is its origin's file, and its id names that origin
        if not file.is_file() or str(row.origin) not in str(row.dataset_id):
            bad.append(f"{row.dataset_id} ({file.relative_to(root.parent)})")
    known = set(datasets["dataset_id"])
    for table in sorted(campaign.glob("*.parquet")):
        frame = pd.read_parquet(table)
        if "dataset_id" in frame.columns:
            bad += [f"{d} (in {table.name}, not in datasets.parquet)"
                    for d in sorted(set(frame["dataset_id"]) - known)]
    return bad


@pytest.mark.skipif(not (SHIPPED / "manifest.json").exists(),
                    reason=f"the shipped knowledge base {SHIPPED} has not been built")
def test_every_kb_dataset_traces_to_the_shared_data(shared_data):
    assert untraced_kb_datasets(SHIPPED, shared_data) == {}
    runs = kb.load(SHIPPED).runs
    for source in CAMPAIGNS:
        campaign = set(runs.loc[runs["source"] == source, "dataset_id"])
        assert campaign and campaign <= campaign_files(SHIPPED, shared_data, source), source


@pytest.mark.skipif(not (SHIPPED / "manifest.json").exists(),
                    reason=f"the shipped knowledge base {SHIPPED} has not been built")
def test_local_meta_features_come_from_raw_files_that_exist(shared_data):
    # origin "local": profiled from a raw file whose OpenML id INDEX.csv states, or one the
    # run campaigns' selections name
    shipped = kb.load(SHIPPED)
    local = shipped.metafeatures.loc[shipped.metafeatures["origin"] == "local", "dataset_id"]
    present = set()
    arff = pd.read_csv(shared_data / "datasets/openml_arff/INDEX.csv")
    for row in arff.dropna(subset=["openml_did"]).itertuples():
        if any((shared_data / "datasets/openml_arff" / row.name).glob("*.*.gz")):
            present.add(f"openml-{int(row.openml_did)}")
    pmlb = pd.read_csv(shared_data / "datasets/pmlb/INDEX.csv")
    for row in pmlb.dropna(subset=["openml_did"]).itertuples():
        if (shared_data / "datasets/pmlb/datasets" / row.name / f"{row.name}.tsv.gz").is_file():
            present.add(f"openml-{int(row.openml_did)}")
    for source in CAMPAIGNS:
        present |= campaign_files(SHIPPED, shared_data, source)
    assert sorted(set(local) - present) == []


@pytest.mark.skipif(not (CAMPAIGN / "datasets.parquet").exists(),
                    reason=f"no imputation campaign tables in {CAMPAIGN}")
def test_every_campaign_dataset_traces_to_a_shared_file(shared_data):
    assert untraced_campaign_datasets(CAMPAIGN, shared_data) == []


@pytest.mark.skipif(not (CAMPAIGN / "summary.json").exists(),
                    reason=f"no imputation campaign tables in {CAMPAIGN}")
def test_campaign_summary_counts_its_tables():
    summary = json.loads((CAMPAIGN / "summary.json").read_text(encoding="utf-8"))
    datasets = pd.read_parquet(CAMPAIGN / "datasets.parquet")
    runs = pd.read_parquet(CAMPAIGN / "runs.parquet")
    ran = datasets[datasets["skipped"].fillna("") == ""]
    assert summary["datasets_run"] == len(ran)
    assert summary["datasets_skipped"] == len(datasets) - len(ran)
    assert summary["runs"] == len(runs)
    assert set(runs["dataset_id"]) == set(ran["dataset_id"])
