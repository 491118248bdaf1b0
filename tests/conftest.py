"""Shared fixtures: the location of ../shared/data and a CLI runner that keeps stderr apart."""

from __future__ import annotations

from pathlib import Path

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
