"""Fitted meta-learners, fitted once per knowledge base and reused.

Fitting the meta-learner (with its inner validation) takes far longer than a recommendation may,
so a fitted learner is stored next to the knowledge base (``models/`` inside a KB directory that
ships one) or in the user's cache directory, keyed by the knowledge base's checksums, the evidence
it learns from and the learner's settings. A changed KB therefore never meets a stale learner.
Learners are stored by :mod:`metarec.learner_codec`: nothing is ever unpickled.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from metarec import learner_codec
from metarec.recommend import Evidence, learner_inputs

LEARNER_SETTINGS: dict[str, Any] = {"model": "auto", "n_jobs": 1}
_MEMORY: dict[str, Any] = {}


def learner_key(kb: Any, evidence: Evidence, random_state: int) -> str:
    tables = {name: entry.get("sha256") for name, entry in kb.manifest.get("tables", {}).items()}
    payload = json.dumps(
        {
            "tables": tables,
            "source": evidence.source,
            "metric": evidence.metric,
            "settings": LEARNER_SETTINGS,
            "random_state": random_state,
            "format": 1,
        },
        sort_keys=True,
    )
    return hashlib.sha256(payload.encode()).hexdigest()[:20]


def cache_dir() -> Path:
    from platformdirs import user_cache_dir

    return Path(os.environ.get("METAREC_CACHE_DIR") or user_cache_dir("metarec")) / "learners"


def candidate_dirs(kb: Any, key: str) -> list[Path]:
    return [Path(kb.path) / "models" / key, cache_dir() / key]


def fit_learner(kb: Any, evidence: Evidence, random_state: int) -> Any:
    from metarec.metalearning import MetaLearner

    meta_features, performance = learner_inputs(kb, evidence)
    learner = MetaLearner(**LEARNER_SETTINGS, random_state=random_state)
    return learner.fit(meta_features, performance, maximize=evidence.higher_is_better)


def save_learner(learner: Any, directory: Path) -> None:
    """Write ``learner`` to ``directory`` atomically (temporary directory, then rename)."""
    directory.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=directory.parent, prefix=f".{directory.name}."))
    try:
        learner_codec.save(learner, tmp)
        tmp.chmod(0o755)
        os.replace(tmp, directory)
    except OSError:
        # Another process stored the same learner first (or the cache is read-only): the
        # recommendation does not depend on the cache, so it goes on.
        shutil.rmtree(tmp, ignore_errors=True)


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
