"""Fitted meta-learners, fitted once per knowledge base and reused.

Fitting the meta-learner (with its inner validation) takes far longer than a recommendation may,
so a fitted learner is stored next to the knowledge base (``models/`` inside a KB directory that
ships one) or in the user's cache directory, keyed by the knowledge base's checksums, the evidence
it learns from and the learner's settings. A changed KB therefore never meets a stale learner.
Learners are stored by :mod:`metarec.metalearner.codec`: nothing is ever unpickled.

The fit-cost model (:class:`metarec.metalearner.cost.FitCostModel`) fits in a tenth of a second, so
it is only kept in memory, per knowledge base and task.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

from metarec.files import atomic_directory, atomic_write_text, cache_root
from metarec.kb.queries import (
    Evidence,
    choose_evidence,
    fit_cost_inputs,
    learner_groups,
    learner_inputs,
)
from metarec.metalearner import codec as learner_codec

LEARNER_SETTINGS: dict[str, Any] = {"model": "auto", "n_jobs": 1}
_MEMORY: dict[str, Any] = {}
_COST_MODELS: dict[str, Any] = {}


def kb_fingerprint(kb: Any) -> str:
    tables = {name: entry.get("sha256") for name, entry in kb.manifest.get("tables", {}).items()}
    return hashlib.sha256(json.dumps(tables, sort_keys=True).encode()).hexdigest()[:20]


def cached_evidence(kb: Any, task: str) -> Evidence:
    """:func:`choose_evidence`, remembered per knowledge base (it scans every run)."""
    name = f"evidence-{kb_fingerprint(kb)}.json"
    for file in (Path(kb.path) / "models" / name, cache_dir() / name):
        if file.is_file():
            try:
                stored = json.loads(file.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            if task in stored:
                return Evidence(**stored[task])
    evidence = choose_evidence(kb, task)
    _remember_evidence(cache_dir() / name, task, evidence)
    return evidence


def _remember_evidence(file: Path, task: str, evidence: Evidence) -> None:
    try:
        stored = json.loads(file.read_text(encoding="utf-8")) if file.is_file() else {}
        stored[task] = dataclasses.asdict(evidence)
        atomic_write_text(file, json.dumps(stored, indent=2, sort_keys=True))
    except (OSError, ValueError):
        pass  # a cache that cannot be written only costs time


def code_fingerprint() -> str:
    """Hash of the meta-learner's source: a learner stored by other code is never reused."""
    import metarec.metalearner as package

    digest = hashlib.sha256()
    for file in sorted(Path(package.__file__).parent.glob("*.py")):
        digest.update(file.name.encode() + b"\0" + file.read_bytes())
    return digest.hexdigest()[:20]


def learner_key(kb: Any, evidence: Evidence, random_state: int) -> str:
    payload = json.dumps(
        {
            "kb": kb_fingerprint(kb),
            "code": code_fingerprint(),
            "source": evidence.source,
            "metric": evidence.metric,
            "groups": learner_groups(evidence),
            "settings": LEARNER_SETTINGS,
            "random_state": random_state,
            "format": 1,
        },
        sort_keys=True,
    )
    return hashlib.sha256(payload.encode()).hexdigest()[:20]


def cache_dir() -> Path:
    return cache_root() / "learners"


def candidate_dirs(kb: Any, key: str) -> list[Path]:
    return [Path(kb.path) / "models" / key, cache_dir() / key]


def fit_learner(kb: Any, evidence: Evidence, random_state: int) -> Any:
    from metarec.metalearner import MetaLearner

    meta_features, performance = learner_inputs(kb, evidence, learner_groups(evidence))
    learner = MetaLearner(**LEARNER_SETTINGS, random_state=random_state)
    return learner.fit(meta_features, performance, maximize=evidence.higher_is_better)


def save_learner(learner: Any, directory: Path) -> None:
    """Write ``learner`` to ``directory`` atomically; an existing learner there is kept."""
    try:
        with atomic_directory(directory, mode=0o755, overwrite=False) as tmp:
            learner_codec.save(learner, tmp)
    except OSError:
        # Another process stored the same learner first (or the cache is read-only): the
        # recommendation does not depend on the cache, so it goes on.
        pass


def fitted_learner(kb: Any, evidence: Evidence, random_state: int = 0) -> Any:
    """A fitted learner for ``evidence``: from memory, from disk, or fitted now and stored."""
    key = learner_key(kb, evidence, random_state)
    if key in _MEMORY:
        return _MEMORY[key]
    learner = None
    for directory in candidate_dirs(kb, key):
        if (directory / "state.json").is_file():
            learner = learner_codec.load(directory)
            break
    if learner is None:
        learner = fit_learner(kb, evidence, random_state)
        save_learner(learner, cache_dir() / key)
    _MEMORY[key] = learner
    return learner


def fitted_cost_model(kb: Any, task: str) -> Any:
    """The fit-cost model of ``kb``'s ``task`` configurations, or None when none of them has a
    recorded fit time."""
    from metarec.metalearner.cost import FitCostModel

    key = f"{kb_fingerprint(kb)}-{task}"
    if key not in _COST_MODELS:
        sizes, times = fit_cost_inputs(kb, task)
        _COST_MODELS[key] = FitCostModel().fit(sizes, times) if times.size else None
    return _COST_MODELS[key]


# The seed of the learners shipped inside a knowledge base (``ship``). Searches ask for
# recommendations under it whatever their own seed: the recommendations are a property of the
# data and the knowledge base, and any other seed would fit a learner first (a minute or more).
SHIPPED_SEED = 0


def ship(kb_path: Path, random_state: int = SHIPPED_SEED) -> list[Path]:
    """Fit and store, inside the knowledge base, a learner for every task type it supports.

    Stale learners of earlier builds are removed, so ``models/`` only holds what this KB uses.
    """
    from metarec import kb as kb_module
    from metarec.errors import KnowledgeBaseError

    kb = kb_module.load(kb_path)
    models = Path(kb.path) / "models"
    written: list[Path] = []
    evidence_file = models / f"evidence-{kb_fingerprint(kb)}.json"
    for task in ("classification", "regression"):
        try:
            evidence = choose_evidence(kb, task)
        except KnowledgeBaseError:
            continue
        _remember_evidence(evidence_file, task, evidence)
        key = learner_key(kb, evidence, random_state)
        target = models / key
        if not (target / "state.json").is_file():
            save_learner(fit_learner(kb, evidence, random_state), target)
        written.append(target)
    keep = {p.name for p in written} | {evidence_file.name}
    for stale in models.iterdir() if models.is_dir() else []:
        if stale.name not in keep:
            if stale.is_dir():
                shutil.rmtree(stale)
            else:
                stale.unlink()
    return written


if __name__ == "__main__":
    import sys

    for path in ship(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("knowledge_base")):
        size = sum(f.stat().st_size for f in path.iterdir()) / 2**20
        print(f"{path}: {size:.1f} MiB")
