"""`metarec kb add`: greedy portfolio, cross-validation, resumable after a kill, user KB only."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from metarec.errors import KnowledgeBaseError
from metarec.kb import add, load, store
from metarec.kb.claims import Claims

ALGORITHMS = ["decision_tree", "gaussian_nb", "k_nearest_neighbors"]


def portfolio_kb(out: Path, manifest: dict, n_datasets: int = 12) -> Path:
    """A KB where each of three configurations is best on a third of the datasets."""
    ids = [f"openml-{i}" for i in range(n_datasets)]
    datasets = pd.DataFrame({
        "dataset_id": ids, "name": ids, "source": "test", "openml_did": range(n_datasets),
        "openml_task_id": pd.NA, "task_type": "classification", "n_instances": 100,
        "n_features": 5, "n_classes": 2, "has_missing": False, "id_mapping": "test",
    })
    configs = pd.DataFrame({
        "configuration_id": [f"test-{a}" for a in ALGORITHMS], "source": "test",
        "task_type": "classification", "algorithm": ALGORITHMS, "imputer": "mean",
        "hyperparameters": "{}", "original": "{}", "translation": "",
        "spec": [json.dumps({"algorithm": a}) for a in ALGORITHMS],
    })
    rows = []
    for i, dataset in enumerate(ids):
        for j, config in enumerate(configs["configuration_id"]):
            rows.append({"dataset_id": dataset, "openml_task_id": pd.NA,
                         "configuration_id": config, "metric": "accuracy",
                         "value": 0.9 if i % 3 == j else 0.6, "higher_is_better": True,
                         "runtime_s": 1.0, "source": "test"})
    metafeatures = pd.DataFrame({"dataset_id": ids, "quality": "NumberOfInstances",
                                 "value": 100.0, "origin": "openml", "source": "test"})
    store.write({"datasets": datasets, "configurations": configs, "runs": pd.DataFrame(rows),
                 "metafeatures": metafeatures}, manifest, out)
    return out


@pytest.fixture
def user_kb(tmp_path, kb_manifest) -> Path:
    return portfolio_kb(tmp_path / "user-kb", kb_manifest())


@pytest.fixture
def csv(tmp_path) -> Path:
    rng = np.random.default_rng(0)
    n = 60
    frame = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n),
                          "colour": rng.choice(["red", "blue"], size=n)})
    frame.loc[::9, "a"] = np.nan
    frame["label"] = np.where(frame["b"] > 0, "yes", "no")
    path = tmp_path / "mine.csv"
    frame.to_csv(path, index=False)
    return path


def test_greedy_portfolio_covers_every_datasets_best_configuration(user_kb):
    kb = load(user_kb)
    scores = add.normalised_scores(kb, "classification")
    chosen = add.greedy_portfolio(scores, size=3, min_datasets=1)
    assert sorted(chosen) == sorted(kb.configurations["configuration_id"])
    assert len(add.greedy_portfolio(scores, size=1, min_datasets=1)) == 1
    assert add.greedy_portfolio(scores, size=3, min_datasets=50) == []


def test_greedy_portfolio_is_filled_to_the_size_asked_for():
    # "c" is the best everywhere, so the others add no coverage; they are still run, smallest
    # configuration id first.
    scores = pd.DataFrame([[1.0, 0.5, 0.0]] * 12, columns=["c", "b", "a"])
    assert add.greedy_portfolio(scores, size=3, min_datasets=1) == ["c", "a", "b"]
    assert add.greedy_portfolio(scores, size=1, min_datasets=1) == ["c"]


def test_add_runs_the_portfolio_and_records_runs_and_meta_features(user_kb, csv):
    result = add.add_dataset(csv, "label", user_kb, portfolio_size=3, folds=3)
    assert result["portfolio"] == 3 and result["failed"] == 0
    kb = load(user_kb)
    mine = kb.runs[kb.runs["dataset_id"] == result["dataset_id"]]
    assert len(mine) == 3 and (mine["metric"] == "balanced_accuracy").all()
    assert mine["value"].between(0, 1).all() and (mine["source"] == "user").all()
    assert (kb.metafeatures["dataset_id"] == result["dataset_id"]).sum() > 10
    row = kb.datasets.set_index("dataset_id").loc[result["dataset_id"]]
    assert row["has_missing"] and row["n_instances"] == 60
    assert not add.progress_file(user_kb, result["dataset_id"]).exists()


def test_killed_add_leaves_the_kb_intact_and_resumes(user_kb, csv, tmp_path, monkeypatch):
    before = json.loads((user_kb / "manifest.json").read_text())["tables"]
    ready = tmp_path / "ready"
    script = textwrap.dedent(f"""
        import time
        from pathlib import Path
        from metarec.kb import add
        real = add.append_jsonl
        def append_then_stall(path, records):
            real(path, records)
            Path({str(ready)!r}).write_text("x")
            time.sleep(60)
        add.append_jsonl = append_then_stall
        add.add_dataset(Path({str(csv)!r}), "label", Path({str(user_kb)!r}),
                        portfolio_size=3, folds=3)
    """)
    child = subprocess.Popen([sys.executable, "-c", script],
                             cwd=Path(__file__).resolve().parents[1])
    try:
        deadline = time.monotonic() + 120
        while not ready.exists():
            assert child.poll() is None, "kb add exited before it was killed"
            assert time.monotonic() < deadline, "kb add never finished a configuration"
            time.sleep(0.05)
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.wait(timeout=30)

    assert json.loads((user_kb / "manifest.json").read_text())["tables"] == before
    assert len(load(user_kb).runs) == 36
    # The finished configuration waits in the knowledge base's folder, nothing beside it.
    assert [p.name for p in user_kb.glob(".add-user-*.jsonl")] != []
    assert not [p for p in user_kb.parent.iterdir() if p.name.startswith(".")]
    calls = []
    real_evaluate = add._evaluate
    monkeypatch.setattr(add, "_evaluate", lambda c, *a: calls.append(c) or real_evaluate(c, *a))
    result = add.add_dataset(csv, "label", user_kb, portfolio_size=3, folds=3)
    assert result["evaluated_now"] == 2 and len(calls) == 2
    assert len(load(user_kb).runs) == 36 + 3


def test_add_on_a_dask_cluster_resumes_an_interrupted_run(user_kb, csv, tmp_path, monkeypatch,
                                                          dask_cluster):
    from distributed import Client, get_worker

    def on_a_worker(log: Path, wait_for_both: bool):
        real = add._evaluate

        def evaluate(config_id, *args):
            worker = get_worker().name  # raises outside a Dask worker
            (log / f"{config_id}--{worker}").touch()
            deadline = time.monotonic() + 30
            # Both workers at work at once, or the run was not spread over the cluster.
            while (wait_for_both and len({p.name.split("--")[1] for p in log.iterdir()}) < 2
                   and time.monotonic() < deadline):
                time.sleep(0.05)
            return real(config_id, *args)
        return evaluate

    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir(), second.mkdir()
    real_append = add.append_jsonl

    def append_then_interrupt(path, records):
        real_append(path, records)
        raise KeyboardInterrupt

    # Interrupted after its first result, inside the caller's own Client.
    monkeypatch.setattr(add, "_evaluate", on_a_worker(first, wait_for_both=False))
    monkeypatch.setattr(add, "append_jsonl", append_then_interrupt)
    with Client(dask_cluster), pytest.raises(KeyboardInterrupt):
        add.add_dataset(csv, "label", user_kb, portfolio_size=3, folds=3, backend="dask")
    assert len(load(user_kb).runs) == 36
    [finished] = [json.loads(line)["configuration_id"] for line in
                  next(user_kb.glob(".add-user-*.jsonl")).read_text().splitlines()]

    # Resumed on the same cluster named by its scheduler's address: the two others only.
    monkeypatch.setattr(add, "_evaluate", on_a_worker(second, wait_for_both=True))
    monkeypatch.setattr(add, "append_jsonl", real_append)
    result = add.add_dataset(csv, "label", user_kb, portfolio_size=3, folds=3,
                             scheduler=dask_cluster.scheduler_address)
    runs = [p.name.split("--") for p in second.iterdir()]
    assert result["evaluated_now"] == 2 and finished not in {c for c, _ in runs}
    assert len(runs) == 2 and {w for _, w in runs} == {str(w) for w in dask_cluster.workers}
    assert len(load(user_kb).runs) == 36 + 3
    assert not add.progress_file(user_kb, result["dataset_id"]).exists()


def test_a_cluster_of_one_worker_thread_does_the_work_itself(user_kb, csv, tmp_path,
                                                             monkeypatch):
    # joblib computes in the calling process when its backend offers a single job at a time.
    from distributed import LocalCluster, get_worker

    ran = tmp_path / "ran"
    ran.mkdir()
    real = add._evaluate

    def on_a_worker(config_id, *args):
        (ran / f"{config_id}--{get_worker().name}").touch()  # raises outside a Dask worker
        return real(config_id, *args)

    monkeypatch.setattr(add, "_evaluate", on_a_worker)
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                      dashboard_address=None) as cluster:
        result = add.add_dataset(csv, "label", user_kb, portfolio_size=3, folds=3,
                                 scheduler=cluster.scheduler_address)
    assert result["evaluated_now"] == 3 and len(list(ran.iterdir())) == 3


def test_cli_add_starts_and_closes_a_local_dask_cluster(user_kb, csv, cli):
    from distributed import get_client

    code, out, err = cli("kb", "add", str(csv), "--target", "label", "--kb", str(user_kb),
                         "--portfolio-size", "3", "--folds", "3", "--backend", "dask",
                         "--n-jobs", "2")
    assert code == 0, err
    assert "3 configurations (3 run now, 0 failed)" in out
    assert len(load(user_kb).runs) == 36 + 3
    with pytest.raises(ValueError, match="No global client"):
        get_client()  # the cluster and its client are gone


@pytest.mark.parametrize("args, expected", [
    (["--scheduler", "tcp://127.0.0.1:9"],
     "could not reach a Dask scheduler at --scheduler tcp://127.0.0.1:9"),
    (["--scheduler", "tcp://127.0.0.1:9", "--backend", "loky"],
     "--scheduler names a Dask scheduler, so it needs --backend dask, not --backend loky"),
    (["--backend", "spark"], "--backend spark is not a joblib backend; choose one of 'dask'"),
])
def test_cli_add_engine_errors_are_one_sentence(user_kb, csv, cli, monkeypatch, args, expected):
    from metarec.kb import engine

    monkeypatch.setattr(engine, "CONNECT_TIMEOUT_S", 1)
    code, _, err = cli("kb", "add", str(csv), "-t", "label", "--kb", str(user_kb), *args)
    assert code == 2 and expected in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    assert len(load(user_kb).runs) == 36


def test_cli_add_without_dask_names_the_extra_to_install(user_kb, csv, cli, monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed fails
    code, _, err = cli("kb", "add", str(csv), "-t", "label", "--kb", str(user_kb),
                       "--backend", "dask")
    assert code == 2 and "--backend dask needs dask.distributed" in err
    assert "pip install 'metarec[dask]'" in err


# A `kb add` whose _evaluate logs each configuration it runs and keeps its first one until the
# other process has started one too, so that both take part whatever their start-up times.
TWO_PROCESS_ADD = textwrap.dedent("""
    import json, os, sys, time
    from pathlib import Path
    from metarec.kb import add
    log, data, kb = map(Path, sys.argv[1:4])
    real = add._evaluate
    def logged(config_id, *args):
        (log / f"{os.getpid()}--{config_id}").touch()
        deadline = time.monotonic() + 60
        while (len({p.name.split("--")[0] for p in log.iterdir()}) < 2
               and time.monotonic() < deadline):
            time.sleep(0.05)
        return real(config_id, *args)
    add._evaluate = logged
    result = add.add_dataset(data, "label", kb, portfolio_size=3, folds=3)
    print(json.dumps(result["evaluated_now"]))
""")


def test_two_processes_adding_one_dataset_split_the_work(user_kb, csv, tmp_path):
    alone = tmp_path / "alone-kb"
    shutil.copytree(user_kb, alone)
    log = tmp_path / "log"
    log.mkdir()
    repo = Path(__file__).resolve().parents[1]
    workers = [subprocess.Popen([sys.executable, "-c", TWO_PROCESS_ADD, str(log), str(csv),
                                 str(user_kb)], cwd=repo, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [w.communicate(timeout=300) for w in workers]
    for worker, (_, err) in zip(workers, outputs, strict=True):
        assert worker.returncode == 0, err
    runs = [entry.name.split("--") for entry in log.iterdir()]
    assert len({pid for pid, _ in runs}) == 2  # both processes ran some
    assert sorted(config for _, config in runs) == sorted(set(config for _, config in runs))
    assert sum(json.loads(out) for out, _ in outputs) == len(runs) == 3

    # What the two wrote is what one process alone writes.
    result = add.add_dataset(csv, "label", alone, portfolio_size=3, folds=3)
    together, by_one = load(user_kb), load(alone)
    mine = result["dataset_id"]
    for name, columns in (("runs", ["configuration_id", "metric", "value"]),
                          ("metafeatures", ["quality", "value"]),
                          ("datasets", ["name", "n_instances", "has_missing"])):
        a, b = getattr(together, name), getattr(by_one, name)
        a, b = (t[t["dataset_id"] == mine][columns].sort_values(columns[0])
                .reset_index(drop=True) for t in (a, b))
        assert len(a) > 0
        pd.testing.assert_frame_equal(a, b)
    assert len(together.runs) == 36 + 3
    # The last process tidied up: no resume file, no claims, nothing beside the KB.
    assert not add.progress_file(user_kb, mine).exists()
    assert not Claims(user_kb, mine).folder.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_a_dead_claimant_does_not_hold_its_configuration_for_ever(user_kb, csv, tmp_path,
                                                                   monkeypatch):
    started = tmp_path / "started"
    script = textwrap.dedent(f"""
        import time
        from pathlib import Path
        from metarec.kb import add
        def stall(*args):
            Path({str(started)!r}).write_text(args[0])
            time.sleep(300)
        add._evaluate = stall
        add.add_dataset(Path({str(csv)!r}), "label", Path({str(user_kb)!r}),
                        portfolio_size=3, folds=3)
    """)
    child = subprocess.Popen([sys.executable, "-c", script],
                             cwd=Path(__file__).resolve().parents[1])
    calls: list[str] = []
    outcome: list[object] = []
    real_evaluate = add._evaluate
    monkeypatch.setattr(add, "_evaluate", lambda c, *a: calls.append(c) or real_evaluate(c, *a))
    try:
        deadline = time.monotonic() + 120
        while not started.exists():
            assert child.poll() is None and time.monotonic() < deadline, "the claimant never ran"
            time.sleep(0.05)
        held = started.read_text()
        # This process runs the two configurations nobody holds, then waits for the held one.
        worker = threading.Thread(target=lambda: outcome.append(
            add.add_dataset(csv, "label", user_kb, portfolio_size=3, folds=3)))
        worker.start()
        while len(calls) < 2 and worker.is_alive() and time.monotonic() < deadline + 120:
            time.sleep(0.05)
        assert held not in calls and worker.is_alive()
        os.kill(child.pid, signal.SIGKILL)  # the claimant dies holding its claim
        worker.join(timeout=120)
    finally:
        child.kill()
        child.wait(timeout=30)
    assert not worker.is_alive(), "the dead process's claim blocked the configuration"
    assert sorted(calls) == sorted(load(user_kb).configurations["configuration_id"])
    assert outcome[0]["evaluated_now"] == 3 and len(load(user_kb).runs) == 36 + 3
    assert not add.progress_file(user_kb, outcome[0]["dataset_id"]).exists()


def test_add_never_touches_the_shipped_kb(csv):
    with pytest.raises(KnowledgeBaseError, match="never modified"):
        add.add_dataset(csv, "label", store.default_path())


def test_cli_add_bad_target_is_one_sentence(user_kb, csv, cli):
    code, _, err = cli("kb", "add", str(csv), "--target", "nope", "--kb", str(user_kb))
    assert code == 2 and "target column 'nope'" in err and "Traceback" not in err


def test_cli_add_reports_what_it_did(user_kb, csv, cli):
    code, out, err = cli("kb", "add", str(csv), "--target", "label", "--kb", str(user_kb),
                         "--portfolio-size", "2", "--folds", "3")
    assert code == 0, err
    assert "2 configurations (2 run now, 0 failed)" in out and "balanced_accuracy" in out
    code, out, _ = cli("kb", "info", "--json", "--kb", str(user_kb))
    assert json.loads(out)["sources"]["user"]["runs"] == 2


def test_cli_add_reads_latin1_and_repairs_like_the_other_commands(user_kb, csv, cli, tmp_path):
    frame = pd.read_csv(csv).assign(empty=np.nan, town="Orléans")
    frame.loc[::2, "town"] = "Besançon"
    path = tmp_path / "latin.csv"
    frame.to_csv(path, index=False, encoding="latin-1")
    code, _, err = cli("kb", "add", str(path), "-t", "label", "--kb", str(user_kb),
                       "--portfolio-size", "1", "--folds", "3")
    assert code == 2 and "--encoding latin-1" in err
    code, out, err = cli("kb", "add", str(path), "-t", "label", "--kb", str(user_kb),
                         "--portfolio-size", "1", "--folds", "3", "--encoding", "latin-1")
    assert code == 0, err
    assert "metarec: warning: left out 1 entirely missing column ('empty')" in err
    assert "1 configurations (1 run now, 0 failed)" in out
    kb = load(user_kb)
    assert kb.datasets.set_index("name").loc["latin.csv", "n_features"] == 5  # a, b, colour, town


def test_add_refuses_what_recommend_and_tune_refuse(user_kb, csv, tmp_path):
    from metarec.errors import DataError

    frame = pd.read_csv(csv)
    rare = frame.copy()
    rare.loc[0, "label"] = "rare"
    rare.to_csv(tmp_path / "rare.csv", index=False)
    with pytest.raises(DataError, match="class 'rare' has a single row"):
        add.add_dataset(tmp_path / "rare.csv", "label", user_kb, portfolio_size=1, folds=3)
    frame.assign(k=1).to_csv(tmp_path / "constant.csv", index=False)
    with pytest.raises(DataError, match=r"1 constant column \('k'\)"):
        add.add_dataset(tmp_path / "constant.csv", "label", user_kb, folds=3, strict=True)
    assert len(load(user_kb).runs) == 36  # nothing was added
