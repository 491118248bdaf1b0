"""Building the knowledge base from ../shared/data: importers, identity resolution, determinism."""

from __future__ import annotations

import ast
import hashlib
import json
from pathlib import Path

import pandas as pd
import pytest

from metarec.kb import build, load
from metarec.kb.importers import get

SMALL = ["openml_qualities", "oboe", "tabrepo"]


def _checksums(path: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in path.glob("*.parquet")}


@pytest.fixture(scope="module")
def small_kb(tmp_path_factory, shared_data) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("small") / "kb"
    return out, build.build(shared_data, out, importers=SMALL)


def test_build_is_deterministic(shared_data, small_kb, tmp_path):
    first_path, first = small_kb
    second = build.build(shared_data, tmp_path / "b", importers=SMALL)
    assert _checksums(first_path) == _checksums(tmp_path / "b")
    assert first["tables"] == second["tables"]
    assert len(_checksums(first_path)) == 4


def test_small_build_loads_and_records_provenance(shared_data, small_kb):
    path, manifest = small_kb
    kb = load(path)
    for name in SMALL:
        source = manifest["sources"][name]
        text = (shared_data / source["provenance_file"]).read_text(encoding="utf-8")
        assert source["provenance"] == text
    assert set(kb.runs["source"]) == {"oboe", "tabrepo"}
    # Every run points at a dataset and a configuration that exist.
    assert set(kb.runs["dataset_id"]) <= set(kb.datasets["dataset_id"])
    assert set(kb.runs["configuration_id"]) <= set(kb.configurations["configuration_id"])


def test_oboe_importer_keeps_every_cell_and_parses_headers_safely(shared_data):
    result = get("oboe").load(shared_data)
    matrix = pd.read_csv(shared_data / "runs/oboe/error_matrix.csv", index_col=0)
    assert len(result.runs) == matrix.size
    assert len(result.configurations) == matrix.shape[1]
    originals = {json.dumps(ast.literal_eval(h), sort_keys=True) for h in matrix.columns}
    stored = {json.dumps(json.loads(o), sort_keys=True) for o in result.configurations["original"]}
    assert len(stored) == len(originals)
    assert result.runs["value"].between(0, 1).all()
    assert not result.runs["higher_is_better"].any()


def test_openml100_importer_varies_the_imputer_and_keeps_task_ids(shared_data):
    result = get("openml100").load(shared_data)
    assert set(result.configurations["imputer"]) == {"mean", "median", "most_frequent"}
    assert result.runs["openml_task_id"].notna().all()
    assert result.runs["configuration_id"].isin(result.configurations["configuration_id"]).all()
    translated = result.configurations[result.configurations["algorithm"] == "adaboost"]
    assert translated["translation"].str.contains("SAMME").any()


def test_task_ids_resolve_to_the_dataset_ids_tabrepo_states(shared_data, small_kb):
    kb = load(small_kb[0])
    folder = shared_data / "runs/tabrepo_early/data/metadata"
    meta = pd.concat([pd.read_csv(p) for p in sorted(folder.glob("task_metadata*.csv"))])
    stated = meta.dropna(subset=["did"]).drop_duplicates("tid").set_index("tid")["did"]
    ds = kb.datasets.dropna(subset=["openml_task_id", "openml_did"])
    tabrepo = ds[ds["source"].str.contains("tabrepo") & ds["openml_task_id"].isin(stated.index)]
    assert len(tabrepo) > 50
    for row in tabrepo.itertuples():
        assert row.openml_did == stated[row.openml_task_id]


def test_cli_build_then_info(shared_data, tmp_path, cli):
    out = tmp_path / "kb"
    code, stdout, stderr = cli("kb", "build", "--from", str(shared_data), "--out", str(out),
                               "--source", "tabrepo")
    assert code == 0, stderr
    code, stdout, _ = cli("kb", "info", "--json", "--kb", str(out))
    info = json.loads(stdout)
    assert code == 0 and set(info["sources"]) == {"tabrepo"}
    assert info["runs"] == info["sources"]["tabrepo"]["runs"] > 0


def test_build_from_a_folder_without_runs_is_a_clear_error(tmp_path, cli):
    code, _, err = cli("kb", "build", "--from", str(tmp_path), "--out", str(tmp_path / "kb"))
    assert code == 2 and "no runs/ folder" in err


@pytest.mark.parametrize("bad", [["nope"], ["oboe", "also-nope"]])
def test_unknown_source_is_refused(shared_data, tmp_path, bad):
    from metarec.errors import KnowledgeBaseError

    with pytest.raises(KnowledgeBaseError, match="unknown source"):
        build.build(shared_data, tmp_path / "kb", importers=bad)


def test_openml100_leaves_out_groups_whose_runs_did_not_learn(shared_data):
    result = get("openml100").load(shared_data)
    runs = result.runs.merge(result.configurations[["configuration_id", "algorithm"]])
    groups = runs.groupby(["algorithm", "openml_task_id", "metric"])["value"].agg(
        ["nunique", "size", "max"])
    constant = groups[(groups["nunique"] == 1) & (groups["size"] >= 5)]
    assert (constant["max"] == 1.0).all()  # only perfect scores may be constant
    assert result.notes and "did not learn" in result.notes[0]


def test_every_importer_is_used_and_no_two_share_a_source_name():
    import pkgutil

    from metarec.kb import build, importers, refresh

    modules = {m.name for m in pkgutil.iter_modules(importers.__path__)
               if not m.name.startswith("_")}
    # build reads the NAMES sources and campaign folders (whose source name they state);
    # refresh reads OpenML through openml_live
    assert modules == {*importers.NAMES, refresh.openml_live.__name__.rsplit(".", 1)[1],
                       build.campaign.__name__.rsplit(".", 1)[1]}
    sources = [get(name).SOURCE for name in sorted(modules) if name != "campaign"]
    assert len(set(sources)) == len(sources)
