"""The warm-start benchmark: its regret arithmetic, on runs whose answer is known by hand, and
its committed record."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bench.bench_warmstart import regrets, summarise, trial_reaching


def _entry(cold: list, warm: list, reference: float | None) -> dict:
    return {"rows": "100", "lightgbm_default": reference,
            "seeds": {"0": {"cold": cold, "warm": warm}}}


def test_regret_is_the_distance_to_the_best_found_over_the_gap_to_lightgbm() -> None:
    curves, ref = regrets(_entry([0.5, 0.7, None], [0.8, 0.8, 0.9], reference=0.7), trials=4)
    assert ref["best"] == 0.9 and not ref["floored"]
    # best 0.9, LightGBM 0.7: regret = (0.9 - incumbent) / 0.2; a short run carries its last
    np.testing.assert_allclose(curves["cold"][0], [2.0, 1.0, 1.0, 1.0])
    np.testing.assert_allclose(curves["warm"][0], [0.5, 0.5, 0.0, 0.0])


def test_a_gap_too_small_to_divide_by_is_floored_and_a_failed_start_counts_as_the_worst() -> None:
    curves, ref = regrets(_entry([None, 0.895], [0.9, 0.9], reference=0.899), trials=2)
    assert ref["floored"]
    # no completed trial yet: the worst score found (0.895), regret (0.9 - 0.895) / 0.01
    np.testing.assert_allclose(curves["cold"][0], [0.5, 0.5])


def test_the_speed_up_is_read_where_warm_first_reaches_colds_level() -> None:
    assert trial_reaching(np.array([1.0, 0.4, 0.2, 0.1]), 0.2) == 3
    assert trial_reaching(np.array([1.0, 0.9]), 0.5) is None


def test_summary_pairs_datasets_and_counts_wins_at_trial_25() -> None:
    better = [0.6] + [0.9] * 49
    worse = [0.6] * 30 + [0.9] * 20
    results = {"datasets": {"a": _entry(worse, better, 0.5), "b": _entry(worse, better, 0.5)}}
    _, figures = summarise(results, trials=50)
    assert figures["wins"] == 2 and figures["losses"] == 0
    assert figures["win_rate"] == 1.0
    assert figures["diff"] > 0 and figures["p_warm_better"] == 1.0
    # cold's regret at trial 25 is (0.9 - 0.6) / 0.4 = 0.75, where warm starts: trial 1;
    # cold's at trial 50 is 0, which warm reaches at trial 2
    assert figures["speedups"][25] == (1, pytest.approx(25.0))
    assert figures["speedups"][50] == (2, pytest.approx(25.0))


def _bench_on_one_small_dataset(monkeypatch, tmp_path, run_arm, *options: str) -> Path:
    """Point ``bench_warmstart.main`` at one generated dataset with ``run_arm`` as its arms and
    ``options`` on its command line; the record's path."""
    import sys
    from types import SimpleNamespace

    import pandas as pd

    import bench.bench_warmstart as warmstart_bench

    kb = tmp_path / "kb"
    kb.mkdir()
    (kb / "HOLDOUT.json").write_text("{}")
    X = pd.DataFrame({"a": range(30)})
    y = pd.Series([i % 2 for i in range(30)])
    monkeypatch.setattr("metarec.recommend.load_kb", lambda path: None)
    monkeypatch.setattr("metarec.tuning.space.space_for", lambda *a, **k: None)
    monkeypatch.setattr(warmstart_bench, "warmstart_benchmark",
                        lambda n: [SimpleNamespace(name="t")])
    monkeypatch.setattr(warmstart_bench, "load", lambda candidate, rows: (X, y, "30"))
    monkeypatch.setattr(warmstart_bench, "recommended", lambda *a: SimpleNamespace(
        source="kb", recommendations=[{"algorithm": "lightgbm"}]))
    monkeypatch.setattr(warmstart_bench, "lightgbm_default_score", lambda X, y, cv: 0.6)
    monkeypatch.setattr(warmstart_bench, "run_arm", run_arm)
    monkeypatch.setattr(warmstart_bench, "write_report", lambda results, args: "")
    record = tmp_path / "warmstart.jsonl"
    monkeypatch.setattr(sys, "argv", ["bench_warmstart", "--datasets", "1", "--kb", str(kb),
                                      "--cache", str(record), *options])
    return record


def test_each_finished_seed_is_recorded_and_a_resumed_run_skips_it(monkeypatch, tmp_path) -> None:
    import bench.bench_warmstart as warmstart_bench
    from bench import results

    arms_run: list[tuple[str, int]] = []

    def run_arm(X, y, found, seed, trials, cv, space, cache, **kwargs):
        arms_run.append(("cold" if found is None else "warm", seed))
        return [0.5, None, 0.7]

    record = _bench_on_one_small_dataset(monkeypatch, tmp_path, run_arm,
                                         "--seeds", "2", "--trials", "3")
    warmstart_bench.main()
    assert arms_run == [("cold", 0), ("warm", 0), ("cold", 1), ("warm", 1)]
    entry = results.read(record)["t"]
    assert entry["lightgbm_default"] == 0.6 and set(entry["seeds"]) == {"0", "1"}
    assert entry["seeds"]["1"]["warm"] == [0.5, None, 0.7]
    warmstart_bench.main()
    assert len(arms_run) == 4  # resumed from the record: nothing runs again


def test_a_second_worker_takes_seeds_from_the_end_and_neither_reruns_the_others(
        monkeypatch, tmp_path) -> None:
    import bench.bench_warmstart as warmstart_bench
    from bench import results

    arms_run: list[tuple[str, int]] = []
    other_worker = {"cold": [0.1], "warm": [0.2], "seconds": 1.0}

    def run_arm(X, y, found, seed, trials, cv, space, cache, **kwargs):
        arms_run.append(("cold" if found is None else "warm", seed))
        if found is not None and seed == 2:  # meanwhile the first worker finished seed 0
            entry = results.read(record)["t"]
            results.append(record, "t", {**entry, "seeds": {"0": other_worker}})
        return [0.5, 0.7]

    record = _bench_on_one_small_dataset(monkeypatch, tmp_path, run_arm,
                                         "--seeds", "3", "--reverse")
    warmstart_bench.main()
    assert arms_run == [("cold", 2), ("warm", 2), ("cold", 1), ("warm", 1)]
    seeds = results.read(record)["t"]["seeds"]
    assert set(seeds) == {"0", "1", "2"} and seeds["0"] == other_worker
