"""The head-to-head benchmark's record: a result is reused only on the rows it ran on, and
each budget's section is written from the record."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pandas as pd
import pytest

import bench.bench_headtohead as h2h
from bench import results
from bench.datasets import fingerprint


@pytest.fixture()
def table() -> tuple[pd.DataFrame, pd.Series]:
    X = pd.DataFrame({"a": range(40), "b": [i % 7 for i in range(40)]})
    return X, pd.Series([i % 2 for i in range(40)], name="y")


def _run(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, table: tuple, cache: dict
         ) -> tuple[dict[str, Any], list[str]]:
    ran: list[str] = []
    record = tmp_path / "headtohead.jsonl"
    monkeypatch.setattr(h2h, "RECORD", record)
    for key, value in cache.items():
        results.append(record, key, value)
    monkeypatch.setattr(h2h, "chosen_datasets", lambda n: [SimpleNamespace(name="t")])
    monkeypatch.setattr(h2h, "load", lambda candidate, max_rows: (*table, "40"))
    monkeypatch.setattr(h2h, "_split", lambda X, y, split, workdir: None)
    monkeypatch.setattr(h2h, "_commit", lambda: "abc")

    def run_system(system: str, budget: float, split: int, workdir: Path) -> dict[str, Any]:
        ran.append(system)
        return {"score": 0.5, "fit_seconds": 1.0}

    monkeypatch.setattr(h2h, "run_system", run_system)
    return h2h.run([30], 1, 1), ran


def test_results_on_the_same_rows_are_reused(monkeypatch, tmp_path, table) -> None:
    first, ran = _run(monkeypatch, tmp_path, table, {})
    assert ran == list(h2h.SYSTEMS)
    assert {v["data"] for v in first.values()} == {fingerprint(*table)}
    _, ran_again = _run(monkeypatch, tmp_path, table, first)
    assert ran_again == []


def test_results_on_other_rows_are_run_again(monkeypatch, tmp_path, table) -> None:
    stale = {f"t|0|30|{s}": {"score": 0.9, "data": "other rows"} for s in h2h.SYSTEMS}
    stale["t|0|30|FLAML"]["data"] = fingerprint(*table)  # this one ran on these rows
    cache, ran = _run(monkeypatch, tmp_path, table, stale)
    assert ran == [s for s in h2h.SYSTEMS if s != "FLAML"]
    assert cache["t|0|30|FLAML"]["score"] == 0.9
    assert all(cache[f"t|0|30|{s}"]["score"] == 0.5 for s in ran)


def test_every_run_is_appended_to_the_record(monkeypatch, tmp_path, table) -> None:
    cache, _ = _run(monkeypatch, tmp_path, table, {})
    recorded = results.read(tmp_path / "headtohead.jsonl")
    assert recorded == cache
    assert all(v["finished"] and v["commit"] == "abc" for v in recorded.values())


def test_a_budget_section_comes_from_the_record_and_none_without_runs(monkeypatch, tmp_path,
                                                                      table) -> None:
    cache, _ = _run(monkeypatch, tmp_path, table, {})
    section = h2h.budget_section(cache, 30)
    assert section is not None and section.startswith("### Budget 30 s (1 datasets x 1 split")
    assert "| metarec | 0.5000 |" in section and "t (40)" in section
    assert h2h.budget_section(cache, 600) is None
