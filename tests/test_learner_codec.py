"""Fitted meta-learners survive a save/load round trip, and damaged or hostile files are refused."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from metarec.errors import KnowledgeBaseError
from metarec.metalearner import MetaLearner
from metarec.metalearner import codec as learner_codec


@pytest.fixture(scope="module", params=["auto", "forest", "surrogate", "knn"])
def fitted(request: pytest.FixtureRequest) -> tuple[MetaLearner, pd.DataFrame]:
    rng = np.random.default_rng(0)
    n_datasets, n_configs = 40, 8
    meta = pd.DataFrame(
        rng.normal(size=(n_datasets, 4)),
        index=[f"d{i}" for i in range(n_datasets)],
        columns=[
            "NumberOfInstances",
            "ClassEntropy",
            "MeanSkewnessOfNumericAtts",
            "Dimensionality",
        ],
    )
    # Configuration j is good where the first meta-feature is close to a configuration-specific
    # value: the learner has something real to learn.
    centres = np.linspace(-2, 2, n_configs)
    perf = pd.DataFrame(
        -np.abs(meta[["NumberOfInstances"]].to_numpy() - centres) + rng.normal(0, 0.1, (40, 8)),
        index=meta.index,
        columns=[f"c{j}" for j in range(n_configs)],
    )
    perf.iloc[::7, ::3] = np.nan
    learner = MetaLearner(model=request.param, random_state=0)
    return learner.fit(meta, perf, maximize=True), meta


def test_round_trip_predicts_identically(fitted, tmp_path: Path) -> None:
    learner, meta = fitted
    learner_codec.save(learner, tmp_path / "learner")
    restored = learner_codec.load(tmp_path / "learner")
    query = meta.iloc[:5] + 0.01
    pd.testing.assert_frame_equal(learner.predict(query), restored.predict(query))
    pd.testing.assert_frame_equal(
        learner.predict_uncertainty(query), restored.predict_uncertainty(query)
    )
    pd.testing.assert_frame_equal(learner.rank(query, top_k=3), restored.rank(query, top_k=3))
    pd.testing.assert_frame_equal(
        learner.out_of_distribution(query), restored.out_of_distribution(query)
    )


def test_foreign_class_in_state_is_refused(fitted, tmp_path: Path) -> None:
    learner, _ = fitted
    learner_codec.save(learner, tmp_path / "learner")
    state_file = tmp_path / "learner" / "state.json"
    payload = json.loads(state_file.read_text())
    payload["learner"]["__object__"] = "subprocess:Popen"
    state_file.write_text(json.dumps(payload))
    with pytest.raises(KnowledgeBaseError, match="foreign class"):
        learner_codec.load(tmp_path / "learner")


@pytest.mark.parametrize("victim", ["state.json", "arrays.npz"])
def test_damaged_files_are_one_clear_error(fitted, tmp_path: Path, victim: str) -> None:
    learner, _ = fitted
    learner_codec.save(learner, tmp_path / "learner")
    target = tmp_path / "learner" / victim
    target.write_bytes(target.read_bytes()[: target.stat().st_size // 3])
    with pytest.raises(KnowledgeBaseError, match="damaged"):
        learner_codec.load(tmp_path / "learner")


def test_boosters_are_stored_as_lightgbm_text_and_load_without_skops(tmp_path: Path) -> None:
    import subprocess
    import sys

    rng = np.random.default_rng(1)
    meta = pd.DataFrame(rng.normal(size=(30, 3)), index=[f"d{i}" for i in range(30)],
                        columns=["NumberOfInstances", "ClassEntropy", "Dimensionality"])
    perf = pd.DataFrame(rng.normal(size=(30, 6)), index=meta.index,
                        columns=[f"c{j}" for j in range(6)])
    learner = MetaLearner(model="surrogate", n_members=2, random_state=0).fit(meta, perf, True)
    learner_codec.save(learner, tmp_path / "learner")
    names = sorted(p.name for p in (tmp_path / "learner").iterdir())
    assert [n for n in names if n.startswith("booster")] == ["booster0.txt", "booster1.txt"]
    assert not [n for n in names if n.endswith(".skops")]
    code = ("import sys; from pathlib import Path; from metarec.metalearner import codec; "
            f"codec.load(Path({str(tmp_path / 'learner')!r})); "
            "assert 'skops' not in sys.modules, 'skops was imported'")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_a_damaged_booster_is_one_clear_error(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    meta = pd.DataFrame(rng.normal(size=(20, 2)), index=[f"d{i}" for i in range(20)],
                        columns=["NumberOfInstances", "ClassEntropy"])
    perf = pd.DataFrame(rng.normal(size=(20, 4)), index=meta.index, columns=list("abcd"))
    learner = MetaLearner(model="surrogate", n_members=1, random_state=0).fit(meta, perf, True)
    learner_codec.save(learner, tmp_path / "learner")
    booster = tmp_path / "learner" / "booster0.txt"
    booster.write_text(booster.read_text()[:200])
    with pytest.raises(KnowledgeBaseError, match="damaged"):
        learner_codec.load(tmp_path / "learner")
