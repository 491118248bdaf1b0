"""Shared fixtures: the location of ../shared/data, a CLI runner that keeps stderr apart, and
builders of small knowledge bases and datasets (factory fixtures where they take parameters)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"

requires_shared_data = pytest.mark.skipif(
    not SHARED_DATA.exists(),
    reason=f"needs the shared data folder {SHARED_DATA}, which is not present here",
)


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.exists():
        pytest.skip(f"needs the shared data folder {SHARED_DATA}, which is not present here")
    return SHARED_DATA


@pytest.fixture
def cli():
    """Invoke the metarec CLI in-process; returns (exit_code, stdout, stderr)."""
    from metarec.cli.main import app
    from typer.testing import CliRunner

    runner = CliRunner()

    def invoke(*args: str) -> tuple[int, str, str]:
        result = runner.invoke(app, list(args))
        return result.exit_code, result.stdout, result.stderr

    return invoke


# -- storage-level knowledge bases -------------------------------------------------------------
def _tiny_tables(n_runs: int = 4) -> dict[str, pd.DataFrame]:
    datasets = pd.DataFrame({
        "dataset_id": ["openml-1", "openml-2"], "name": ["one", "two"], "source": "test",
        "openml_did": [1, 2], "openml_task_id": [10, pd.NA], "task_type": "classification",
        "n_instances": [100, 200], "n_features": [5, 6], "n_classes": [2, 3],
        "has_missing": [False, True], "id_mapping": "dataset id stated by the source",
    })
    metafeatures = pd.DataFrame({
        "dataset_id": ["openml-1", "openml-2"], "quality": "NumberOfInstances",
        "value": [100.0, 200.0], "origin": "openml", "source": "test",
    })
    spec = json.dumps({"algorithm": "gaussian_nb"})
    configurations = pd.DataFrame({
        "configuration_id": ["test-a"], "source": "test", "task_type": "classification",
        "algorithm": "gaussian_nb", "imputer": "mean", "hyperparameters": "{}",
        "original": "{}", "translation": "", "spec": spec,
    })
    runs = pd.DataFrame({
        "dataset_id": [f"openml-{1 + i % 2}" for i in range(n_runs)],
        "openml_task_id": pd.array([pd.NA] * n_runs, dtype="Int64"),
        "configuration_id": "test-a", "metric": [f"m{i}" for i in range(n_runs)],
        "value": [0.1 * i for i in range(n_runs)], "higher_is_better": False,
        "runtime_s": 1.0, "source": "test",
    })
    return {"datasets": datasets, "metafeatures": metafeatures,
            "configurations": configurations, "runs": runs}


def _kb_manifest() -> dict:
    from metarec.kb import schema, store

    return {"format": store.FORMAT, "kb_version": schema.KB_VERSION, "build_date": "test"}


@pytest.fixture(scope="session")
def tiny_tables():
    """Factory: ``tiny_tables(n_runs=4)`` gives the four tables of a knowledge base with two
    datasets, one configuration and ``n_runs`` runs (new frames on every call)."""
    return _tiny_tables


@pytest.fixture(scope="session")
def kb_manifest():
    """Factory: ``kb_manifest()`` gives a minimal valid manifest (a new dict on every call)."""
    return _kb_manifest
