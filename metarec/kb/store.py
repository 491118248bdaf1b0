"""Reading and writing a knowledge-base directory: Parquet tables + ``manifest.json``.

Writes go to a temporary sibling directory that is renamed into place, under a file lock, so a
reader never sees half a knowledge base and two writers never interleave. Reads verify the format,
the version and the sha256 of every table before returning anything.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from metarec.errors import KnowledgeBaseError
from metarec.files import atomic_directory
from metarec.kb import schema

FORMAT = "metarec-knowledge-base"
LOCK_TIMEOUT_S = 600


def default_path() -> Path:
    """The shipped knowledge base: ``knowledge_base/`` beside the ``metarec`` package.

    Editable installs and source checkouts keep the package inside the repository, so the folder
    is found relative to this file; METAREC_KB overrides it.
    """
    override = os.environ.get("METAREC_KB")
    if override:
        return Path(override)
    beside_package = Path(__file__).resolve().parents[2] / "knowledge_base"
    # A regular (non-editable) install has no repository around the package; data files
    # installed with it would land under <prefix>/share/metarec.
    candidates = [beside_package, Path(sys.prefix) / "share" / "metarec" / "knowledge_base"]
    return next((c for c in candidates if (c / schema.MANIFEST).is_file()), beside_package)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def lock_for(path: Path) -> Any:
    """A lock keyed by the KB's resolved path, kept outside it (the KB directory is replaced)."""
    from filelock import FileLock

    key = hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:16]
    return FileLock(str(Path(tempfile.gettempdir()) / f"metarec-kb-{key}.lock"),
                    timeout=LOCK_TIMEOUT_S)


def _write_table(frame: pd.DataFrame, path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(frame, preserve_index=False)
    # lz4 decodes several times faster than zstd here, which keeps load() well under 0.5 s
    # for ~100 MB of configuration JSON at ~1.7x the file size.
    pq.write_table(table, path, compression="lz4", row_group_size=1 << 20)


def write(
    tables: dict[str, pd.DataFrame],
    manifest: dict[str, Any],
    out: Path,
    acquire_lock: bool = True,
) -> dict[str, Any]:
    """Write ``tables`` and ``manifest`` to ``out`` atomically; return the completed manifest.

    ``acquire_lock=False`` is for callers that already hold ``lock_for(out)`` around a
    read-modify-write (refresh, add), so that no update is lost between their read and write.
    """
    from filelock import Timeout

    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if not acquire_lock:
        return _write_locked(tables, manifest, out)
    try:
        with lock_for(out):
            return _write_locked(tables, manifest, out)
    except Timeout:
        raise KnowledgeBaseError(
            f"another process is writing the knowledge base at {out}; try again when it is done."
        ) from None


def _write_locked(
    tables: dict[str, pd.DataFrame], manifest: dict[str, Any], out: Path
) -> dict[str, Any]:
    # 0o755: a shipped KB must be readable by all.
    with atomic_directory(out, mode=0o755) as tmp:
        entries = {}
        for name in schema.TABLES:
            frame = schema.conform(name, tables.get(name, schema.empty(name)))
            file = tmp / f"{name}.parquet"
            _write_table(frame, file)
            entries[name] = {"file": file.name, "rows": len(frame), "sha256": _sha256(file)}
        manifest = {**manifest, "tables": entries}
        keep = [p for p in out.glob("*") if p.name not in {f"{n}.parquet" for n in entries}
                and p.name != schema.MANIFEST] if out.is_dir() else []
        for extra in keep:  # README.md, other teams' sub-folders: carried over untouched
            if extra.name.startswith(f".{out.name}."):
                continue
            if extra.is_dir():
                shutil.copytree(extra, tmp / extra.name)
            else:
                shutil.copy2(extra, tmp / extra.name)
        (tmp / schema.MANIFEST).write_text(
            json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8"
        )
    return manifest


@dataclass
class KnowledgeBase:
    """A loaded knowledge base; tables are pandas DataFrames in the columns of ``schema.TABLES``."""

    path: Path
    manifest: dict[str, Any]
    datasets: pd.DataFrame
    metafeatures: pd.DataFrame
    configurations: pd.DataFrame
    runs: pd.DataFrame
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def version(self) -> int:
        return int(self.manifest["kb_version"])

    def summary(self) -> dict[str, Any]:
        """Figures for `metarec kb info`: distinct datasets, configurations, runs, per source."""
        runs = self.runs
        sources = {}
        for source, grp in runs.groupby("source", sort=True):
            sources[str(source)] = {
                "datasets": int(grp["dataset_id"].nunique()),
                "configurations": int(grp["configuration_id"].nunique()),
                "runs": int(len(grp)),
                "metrics": sorted(grp["metric"].unique().tolist()),
            }
        return {
            "path": str(self.path),
            "version": self.version,
            "build_date": self.manifest.get("build_date"),
            "datasets": int(runs["dataset_id"].nunique()),
            "configurations": int(len(self.configurations)),
            "runs": int(len(runs)),
            "metafeatures": {
                str(k): int(v) for k, v in
                self.metafeatures.groupby("origin")["dataset_id"].nunique().items()
            },
            "sources": sources,
        }

    def metafeature_matrix(self, origin: str = "openml") -> pd.DataFrame:
        """Datasets x qualities (wide) for one origin of values."""
        mf = self.metafeatures[self.metafeatures["origin"] == origin]
        return mf.pivot(index="dataset_id", columns="quality", values="value")

    def performance(self, metric: str, source: str | None = None) -> pd.DataFrame:
        """Datasets x configurations for one metric (mean over repeated runs; NaN = not run)."""
        runs = self.runs[self.runs["metric"] == metric]
        if source is not None:
            runs = runs[runs["source"] == source]
        return runs.pivot_table(index="dataset_id", columns="configuration_id", values="value",
                                aggfunc="mean")


def _fail(path: Path, why: str) -> KnowledgeBaseError:
    return KnowledgeBaseError(
        f"the knowledge base at {path} {why}; rebuild it with `metarec kb build` "
        "or point `path` at a valid one.",
        parameters=("path",),
    )


def read_manifest(path: Path) -> dict[str, Any]:
    file = path / schema.MANIFEST
    if not path.is_dir():
        raise KnowledgeBaseError(
            f"no knowledge base at {path} (not a directory); build one with "
            "`metarec kb build --from ../shared/data --out DIR` or set METAREC_KB."
        )
    if not file.is_file():
        raise _fail(path, "has no manifest.json (it is incomplete)")
    try:
        manifest = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        raise _fail(path, "has an unreadable manifest.json") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise _fail(path, "has a manifest.json that is not a metarec knowledge-base manifest")
    if manifest.get("kb_version") != schema.KB_VERSION:
        raise _fail(path, f"is version {manifest.get('kb_version')!r}, but this metarec reads "
                          f"version {schema.KB_VERSION}")
    return manifest


def load(path: str | Path | None = None, verify: bool = True) -> KnowledgeBase:
    """Load and verify the knowledge base at ``path`` (default: the shipped one)."""
    import pyarrow.parquet as pq

    path = Path(path) if path is not None else default_path()
    manifest = read_manifest(path)
    frames = {}
    for name in schema.TABLES:
        entry = manifest.get("tables", {}).get(name)
        if not entry:
            raise _fail(path, f"lacks the {name} table in its manifest")
        file = path / entry["file"]
        if not file.is_file():
            raise _fail(path, f"lacks {entry['file']} (it is incomplete)")
        if verify and _sha256(file) != entry["sha256"]:
            raise _fail(path, f"has a corrupt {entry['file']} (checksum mismatch)")
        try:
            frame = pq.read_table(file).to_pandas()
        except Exception:
            raise _fail(path, f"has an unreadable {entry['file']}") from None
        if len(frame) != entry["rows"]:
            raise _fail(path, f"has {len(frame)} rows in {entry['file']}, not {entry['rows']}")
        frames[name] = schema.conform(name, frame)
    return KnowledgeBase(path=path, manifest=manifest, **frames)
