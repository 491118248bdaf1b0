"""Deterministic build of the knowledge base from the shared run files.

``build(data_root, out)`` runs every importer, resolves each source's dataset keys (OpenML dataset
ids, task ids, names) to one KB dataset id, and writes four Parquet tables plus ``manifest.json``
into a temporary directory that is renamed into place, under a lock against concurrent writers.
The tables are sorted and written without timestamps, so two builds from the same files give the
same checksums; only ``build_date`` in the manifest differs (fix it with SOURCE_DATE_EPOCH).
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Iterable
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd

from metarec.errors import KnowledgeBaseError
from metarec.kb import schema, store
from metarec.kb.importers import NAMES, ImportResult, campaign, get

Progress = Callable[[str], None]
FINGERPRINT = [
    "NumberOfInstances", "NumberOfFeatures", "NumberOfClasses", "NumberOfMissingValues",
    "NumberOfNumericFeatures", "NumberOfSymbolicFeatures", "MajorityClassSize",
]


def _build_date() -> str:
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    now = datetime.now(timezone.utc)
    moment = datetime.fromtimestamp(int(epoch), timezone.utc) if epoch else now
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _name_key(name: object) -> str:
    # Sources spell one OpenML name differently ("Bioresponse", "bioresponse", "kr_vs_kp").
    return re.sub(r"[^0-9a-z]", "", str(name).lower())


class _Resolver:
    """Map each source's dataset key to a KB dataset id, preferring OpenML dataset ids."""

    def __init__(self, reference: pd.DataFrame, task_map: pd.DataFrame, ref_mf: pd.DataFrame):
        self.ref = reference.set_index("openml_did", drop=False)
        self.task_map = task_map.drop_duplicates("openml_task_id").set_index("openml_task_id")
        keys = reference["name"].map(_name_key)
        self.by_name = {name: grp for name, grp in reference.groupby(keys)}
        wide = ref_mf[ref_mf["quality"].isin(FINGERPRINT)].pivot_table(
            index="dataset_key", columns="quality", values="value", aggfunc="first"
        )
        wide.index = wide.index.str.removeprefix("did:").astype(int)
        self.fingerprints = wide.reindex(columns=FINGERPRINT)

    def by_fingerprint(self, qualities: pd.Series) -> int | None:
        known = qualities.reindex(FINGERPRINT).dropna()
        if len(known) < 4:
            return None
        cols = self.fingerprints[known.index]
        hits = cols.index[np.isclose(cols.to_numpy(float), known.to_numpy(float)).all(axis=1)]
        return int(hits[0]) if len(hits) == 1 else None

    def by_name_match(self, name: str, n_instances: float | None) -> int | None:
        grp = self.by_name.get(_name_key(name))
        if grp is None:
            return None
        if n_instances is not None and not pd.isna(n_instances):
            same = grp[grp["n_instances"] == n_instances]
            grp = same if len(same) else grp
        grp = grp.sort_values(["preferred", "version"], ascending=[False, True])
        return int(grp["openml_did"].iloc[0])

    def resolve(self, row: dict, qualities: pd.Series | None) -> tuple[str, int | None, str]:
        did, tid, name = row.get("openml_did"), row.get("openml_task_id"), row.get("name")
        own = row.get("campaign_dataset_id")
        if isinstance(own, str):  # a campaign of ours chose the id, and says how
            return own, (None if pd.isna(did) else int(did)), str(row["id_mapping"])
        if did is not None and not pd.isna(did):
            return f"openml-{int(did)}", int(did), "dataset id stated by the source"
        if tid is not None and not pd.isna(tid) and int(tid) in self.task_map.index:
            did = int(self.task_map.loc[int(tid), "openml_did"])
            return f"openml-{did}", did, "task id -> dataset id from OpenML task metadata"
        if qualities is not None:
            found = self.by_fingerprint(qualities)
            if found is not None:
                return f"openml-{found}", found, "unique match of OpenML qualities (size, classes)"
        if name is not None and not pd.isna(name):
            found = self.by_name_match(str(name), row.get("n_instances"))
            if found is not None:
                return f"openml-{found}", found, "name (and size) match with OpenML's qualities"
        if tid is not None and not pd.isna(tid):
            return f"task-{int(tid)}", None, "unresolved OpenML task id"
        return f"name-{name}", None, "unresolved dataset name"


def run_importers(root: Path, names: Iterable[str], progress: Progress) -> list[ImportResult]:
    results = []
    for name in names:
        progress(f"importing {name}")
        results.append(get(name).load(root))
    return results


def assemble(results: list[ImportResult], root: Path) -> dict[str, pd.DataFrame]:
    """Combine importer results into the four KB tables."""
    refs = [r for r in results if r.reference_only]
    reference = pd.concat([r.datasets for r in refs]) if refs else pd.DataFrame(
        columns=["dataset_key", "name", "version", "openml_did", "n_instances", "n_features",
                 "n_classes", "has_missing", "preferred"])
    ref_mf = pd.concat([r.metafeatures for r in refs]) if refs else pd.DataFrame(
        columns=["dataset_key", "quality", "value", "origin", "source"])
    task_maps = [r.task_map for r in results if len(r.task_map)]
    task_map = pd.concat(task_maps) if task_maps else pd.DataFrame(
        columns=["openml_task_id", "openml_did"])
    resolver = _Resolver(reference, task_map, ref_mf)

    key_maps: dict[str, dict[str, str]] = {}
    rows = []
    for res in results:
        if res.reference_only:
            continue
        mf = res.metafeatures
        own = (mf[mf["origin"] == "openml"].pivot_table(
            index="dataset_key", columns="quality", values="value", aggfunc="first")
            if len(mf) else pd.DataFrame())
        mapping = {}
        for row in res.datasets.to_dict("records"):
            quals = own.loc[row["dataset_key"]] if row["dataset_key"] in own.index else None
            dataset_id, did, how = resolver.resolve(row, quals)
            mapping[row["dataset_key"]] = dataset_id
            rows.append({**row, "dataset_id": dataset_id, "openml_did": did, "id_mapping": how,
                         "source": res.source})
        key_maps[res.source] = mapping
    found = pd.DataFrame(rows)

    runs = pd.concat(
        [r.runs.assign(dataset_id=r.runs["dataset_key"].map(key_maps[r.source]))
         for r in results if len(r.runs)], ignore_index=True)
    with_runs = set(runs["dataset_id"])
    datasets = _merge_datasets(found[found["dataset_id"].isin(with_runs)], reference)

    configurations = pd.concat([r.configurations for r in results if len(r.configurations)])
    configurations = configurations.drop_duplicates("configuration_id")

    mf_parts = []
    dids = {f"did:{int(d)}": f"openml-{int(d)}" for d in datasets["openml_did"].dropna()}
    for res in results:
        if not len(res.metafeatures):
            continue
        mapping = dids if res.reference_only else key_maps[res.source]
        part = res.metafeatures.assign(dataset_id=res.metafeatures["dataset_key"].map(mapping))
        mf_parts.append(part.dropna(subset=["dataset_id"]))
    metafeatures = pd.concat(mf_parts, ignore_index=True)
    metafeatures = metafeatures[metafeatures["dataset_id"].isin(set(datasets["dataset_id"]))]
    # The first source to state a quality of a dataset (in importer order) wins.
    metafeatures = metafeatures.drop_duplicates(["dataset_id", "quality", "origin"])
    metafeatures = metafeatures[np.isfinite(metafeatures["value"].astype(float))]

    tables = {
        "datasets": datasets,
        "metafeatures": metafeatures,
        "configurations": configurations,
        "runs": runs,
    }
    return {name: schema.sort(name, schema.conform(name, frame)) for name, frame in tables.items()}


def _merge_datasets(found: pd.DataFrame, reference: pd.DataFrame) -> pd.DataFrame:
    ref = reference.drop_duplicates("openml_did").set_index("openml_did")
    out = []
    for dataset_id, grp in found.groupby("dataset_id", sort=True):
        first = grp.iloc[0]
        did = first["openml_did"]
        info = ref.loc[int(did)] if did is not None and not pd.isna(did) and int(did) in ref.index \
            else None

        def pick(col: str, info=info, grp=grp) -> object:
            if info is not None and col in info and not pd.isna(info[col]):
                return info[col]
            values = grp[col].dropna() if col in grp else pd.Series(dtype=object)
            return values.iloc[0] if len(values) else pd.NA

        tids = grp["openml_task_id"].dropna() if "openml_task_id" in grp else pd.Series()
        out.append({
            "dataset_id": dataset_id,
            "name": pick("name"),
            "source": ",".join(sorted(set(grp["source"]))),
            "openml_did": did,
            "openml_task_id": int(tids.min()) if len(tids) else pd.NA,
            "task_type": grp["task_type"].dropna().iloc[0],
            "n_instances": pick("n_instances"),
            "n_features": pick("n_features"),
            "n_classes": pick("n_classes"),
            "has_missing": pick("has_missing"),
            "id_mapping": first["id_mapping"],
        })
    frame = pd.DataFrame(out)
    frame["openml_did"] = pd.to_numeric(frame["openml_did"]).astype("Int64")
    for col in ("n_instances", "n_features", "n_classes"):
        frame[col] = pd.to_numeric(frame[col]).round().astype("Int64")
    frame["has_missing"] = frame["has_missing"].astype("boolean")
    return frame


def _provenance(root: Path, results: list[ImportResult], tables: dict[str, pd.DataFrame]) -> dict:
    runs, configs = tables["runs"], tables["configurations"]
    sources = {}
    for res in results:
        mine = runs[runs["source"] == res.source]
        files = [res.provenance] if isinstance(res.provenance, str) else list(res.provenance)
        texts = ([res.provenance_text] if res.provenance_text is not None else
                 [(root / f).read_text(encoding="utf-8") for f in files if (root / f).is_file()])
        sources[res.source] = {
            "provenance_file": res.provenance,
            "provenance": "\n".join(texts) if texts else None,
            "datasets": int(mine["dataset_id"].nunique()),
            "configurations": int((configs["source"] == res.source).sum()),
            "runs": int(len(mine)),
            "notes": list(res.notes),
        }
    return sources


def build(
    data_root: str | Path,
    out: str | Path,
    importers: Iterable[str] | None = None,
    progress: Progress | None = None,
    campaigns: Iterable[str | Path] = (),
) -> dict:
    """Build the KB from ``data_root`` (the shared data folder) into ``out``; return manifest.

    ``campaigns``: folders written by run campaigns of our own (:mod:`metarec.kb.campaigns`;
    the shipped ones are ``knowledge_base/campaigns/regression`` and ``.../classification``),
    imported beside the sources."""
    from metarec import __version__

    root = Path(data_root)
    if not (root / "runs").is_dir():
        raise KnowledgeBaseError(
            f"{root} has no runs/ folder; point `data_root` at the shared data folder "
            "(../shared/data).",
            parameters=("data_root",),
        )
    progress = progress or (lambda _msg: None)
    names = list(importers) if importers is not None else NAMES
    unknown = [n for n in names if n not in NAMES]
    if unknown:
        raise KnowledgeBaseError(
            f"unknown source(s) {', '.join(unknown)}; known sources: {', '.join(NAMES)}."
        )
    started = time.perf_counter()
    # Sources that profile raw data only need the datasets the runs bring; they run last.
    late = [n for n in names if getattr(get(n), "NEEDS_KB_DIDS", False)]
    results = run_importers(root, [n for n in names if n not in late], progress)
    for folder in campaigns:
        progress(f"importing campaign {Path(folder).name}")
        results.append(campaign.load(Path(folder)))
    progress("combining sources")
    tables = assemble(results, root)
    if late:
        dids = {int(d) for d in tables["datasets"]["openml_did"].dropna()}
        for name in late:
            progress(f"importing {name}")
            results.append(get(name).load(root, only=dids))
        tables = assemble(results, root)
    manifest = {
        "format": store.FORMAT,
        "kb_version": schema.KB_VERSION,
        "build_date": _build_date(),
        "built_with": {"metarec": __version__, "command": "metarec kb build"},
        "sources": _provenance(root, results, tables),
        "figures": {
            "datasets": int(tables["datasets"]["dataset_id"].nunique()),
            "configurations": int(len(tables["configurations"])),
            "runs": int(len(tables["runs"])),
        },
    }
    progress("writing tables")
    manifest = store.write(tables, manifest, Path(out))
    manifest["build_seconds"] = round(time.perf_counter() - started, 2)
    return manifest
