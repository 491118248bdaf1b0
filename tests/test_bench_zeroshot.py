"""The zero-shot benchmark's record: each dataset's results appended, reused on the same rows."""

from __future__ import annotations

import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pandas as pd
import pytest

import bench.bench_zeroshot as zeroshot
from bench import results


@pytest.fixture()
def patched(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, Any]:
    kb = tmp_path / "kb"
    kb.mkdir()
    (kb / "HOLDOUT.json").write_text("{}")
    (kb / "manifest.json").write_text("{}")
    X = pd.DataFrame({"a": range(40)})
    y = pd.Series([i % 2 for i in range(40)])
    calls: list[set[str] | None] = []

    def evaluate(X: Any, y: Any, seed: int, only: set[str] | None = None) -> dict[str, Any]:
        calls.append(only)
        # a failed fold is NaN, recorded as null
        return {"metarec": {"folds": [0.9, float("nan")], "seconds": 1.0},
                "LightGBM": {"folds": [0.8, 0.7], "seconds": 1.0}}

    monkeypatch.setattr(zeroshot, "HOLDOUT_KB", kb)
    monkeypatch.setattr(zeroshot, "RECORD", tmp_path / "zeroshot.jsonl")
    monkeypatch.setattr(zeroshot, "benchmark_datasets",
                        lambda n: [(SimpleNamespace(name="t"), None, 2)])
    monkeypatch.setattr(zeroshot, "load", lambda candidate, max_rows: (X, y, "40"))
    monkeypatch.setattr(zeroshot, "evaluate", evaluate)
    sections: dict[str, str] = {}
    monkeypatch.setattr("bench.report.write_section",
                        lambda name, text, *a, **k: sections.__setitem__(name, text))
    monkeypatch.setattr(sys, "argv", ["bench_zeroshot"])
    return {"calls": calls, "sections": sections, "record": tmp_path / "zeroshot.jsonl"}


def test_results_are_recorded_and_not_run_again(patched: dict[str, Any]) -> None:
    zeroshot.main()
    zeroshot.main()
    assert patched["calls"] == [None]
    recorded = results.read(patched["record"])
    assert recorded["t"]["metarec"]["folds"] == [0.9, None]
    assert "| metarec | 0.9000 | 1.00 |" in patched["sections"]["zeroshot"]


def test_a_rerun_keeps_the_earlier_result(patched: dict[str, Any], monkeypatch) -> None:
    zeroshot.main()
    (zeroshot.HOLDOUT_KB / "manifest.json").write_text('{"changed": 1}')
    monkeypatch.setattr(sys, "argv", ["bench_zeroshot", "--rerun", "metarec"])
    zeroshot.main()
    assert patched["calls"] == [None, {"metarec"}]
    assert results.read(patched["record"])["t"]["_earlier"]["metarec"]["folds"] == [0.9, None]
