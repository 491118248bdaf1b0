"""A run campaign of our own (:mod:`metarec.kb.campaigns`), read from the knowledge-base folder
the campaign wrote.

The campaign has already given every dataset its id (and says how), profiled it locally on the
rows its runs used, and stated its configurations in the knowledge base's vocabulary, so the
tables pass through; only the dataset id becomes the importer's ``dataset_key``.
"""

from __future__ import annotations

import json
from pathlib import Path

from metarec.errors import KnowledgeBaseError
from metarec.kb import schema, store
from metarec.kb.importers._common import DATASET_COLUMNS, ImportResult


def load(folder: Path) -> ImportResult:
    """The campaign knowledge base at ``folder`` (verified like any knowledge base)."""
    kb = store.load(folder)
    sources = sorted(set(kb.runs["source"]))
    if len(sources) != 1:
        raise KnowledgeBaseError(
            f"{folder} holds runs of {len(sources)} sources; a campaign folder holds one.",
            parameters=("folder",))
    source = sources[0]
    keyed = {"dataset_id": "dataset_key"}
    datasets = kb.datasets.rename(columns=keyed)
    # The campaign's own ids stand (see metarec.kb.build._Resolver.resolve).
    datasets = datasets[[*DATASET_COLUMNS, "id_mapping"]].assign(
        campaign_dataset_id=datasets["dataset_key"])
    stated = kb.manifest["sources"][source]
    return ImportResult(
        source=source,
        provenance=f"{folder.name}/{schema.MANIFEST}",
        provenance_text="\n".join([str(stated.get("provenance") or ""), json.dumps(
            stated.get("details", {}), sort_keys=True)]).strip(),
        datasets=datasets,
        configurations=kb.configurations,
        runs=kb.runs.rename(columns=keyed),
        metafeatures=kb.metafeatures.rename(columns=keyed),
        notes=list(stated.get("notes", [])),
    )
