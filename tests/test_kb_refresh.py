"""`metarec kb refresh --openml` against recorded OpenML responses (no network).

The fake sits at the HTTP layer (``requests.Session.get``), so openml-python's own URL building,
XML parsing, paging and our retries, cache and merge all run for real.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import requests

from metarec.errors import KnowledgeBaseError
from metarec.kb import load, refresh, store

FIXTURES = Path(__file__).parent / "fixtures" / "openml"


class FakeOpenML:
    """Serves the fixture files by URL; records every URL asked for."""

    def __init__(self, fail_first: int = 0):
        self.urls: list[str] = []
        self.fail_first = fail_first

    def route(self, url: str) -> tuple[int, str]:
        path = url.split("/api/v1/xml/", 1)[1]
        if path.startswith("study/99"):
            return 200, "study_99.xml"
        if path.startswith("user/list"):
            return 200, "users.xml"
        if path.startswith("setup/list"):
            return 200, "setups.xml"
        if path.startswith("evaluation/list"):
            offset = int(re.search(r"/offset/(\d+)", path).group(1))
            name = f"evaluations_offset_{offset}.xml"
            return (200, name) if (FIXTURES / name).exists() else (412, "no_result.xml")
        raise AssertionError(f"unexpected request {url}")

    def get(self, session, url, params=None, headers=None, **kwargs):
        self.urls.append(url)
        if self.fail_first > 0:
            self.fail_first -= 1
            raise requests.exceptions.ConnectionError("connection reset (simulated)")
        status, name = self.route(url)
        response = requests.Response()
        response.status_code = status
        response._content = (FIXTURES / name).read_bytes()
        response.headers["Content-Encoding"] = "gzip"  # what OpenML sends; avoids a warning
        response.encoding = "utf-8"
        response.url = url
        return response


@pytest.fixture
def fake(monkeypatch, tmp_path):
    import openml

    server = FakeOpenML()
    monkeypatch.setattr(requests.Session, "get", lambda s, url, **kw: server.get(s, url, **kw))
    monkeypatch.setattr(openml.config, "connection_n_retries", 1)
    openml.config.set_root_cache_directory(str(tmp_path / "openml-cache"))
    return server


@pytest.fixture
def user_kb(tmp_path, tiny_tables, kb_manifest) -> Path:
    out = tmp_path / "user-kb"
    store.write(tiny_tables(), kb_manifest(), out)
    return out


def run(user_kb: Path, tmp_path: Path) -> dict:
    return refresh.refresh_openml(user_kb, suite=99, flows=(6969,), page_size=2,
                                  cache=tmp_path / "pages", backoff_s=0)


def test_refresh_pages_translates_and_adds_runs(fake, user_kb, tmp_path):
    result = run(user_kb, tmp_path)
    assert result["added_runs"] == 3 and result["fetched"] == 3
    evaluation_calls = [u for u in fake.urls if "evaluation/list" in u]
    assert [re.search(r"/offset/(\d+)", u).group(1) for u in evaluation_calls] == ["0", "2"]
    assert "/limit/2/" in evaluation_calls[0] and "/task/3,31" in evaluation_calls[0]

    kb = load(user_kb)
    runs = kb.runs[kb.runs["source"] == "openml"]
    assert sorted(runs["openml_run_id"]) == [9000001, 9000002, 9000003]
    assert sorted(runs["value"]) == [0.968085, 0.96965, 0.993429]
    assert set(runs["dataset_id"]) == {"openml-3"}
    configs = kb.configurations[kb.configurations["source"] == "openml"]
    assert set(configs["algorithm"]) == {"random_forest"} and set(configs["imputer"]) == {"median"}
    hps = [json.loads(h) for h in configs["hyperparameters"]]
    assert {h["criterion"] for h in hps} == {"gini", "entropy"}
    assert all(h["n_estimators"] == 100 for h in hps)
    assert configs["translation"].str.contains("min_impurity_split").all()
    assert "suite 99" in kb.manifest["sources"]["openml"]["provenance"]
    assert len(kb.runs[kb.runs["source"] == "test"]) == 4  # the old runs are kept


def test_second_refresh_is_incremental_and_uses_the_page_cache(fake, user_kb, tmp_path):
    run(user_kb, tmp_path)
    fake.urls.clear()
    result = run(user_kb, tmp_path)
    assert result["added_runs"] == 0 and result["already_known"] == 3
    offsets = [re.search(r"/offset/(\d+)", u).group(1) for u in fake.urls if "evaluation" in u]
    assert offsets == ["2"]  # the full first page came from the cache
    assert len(load(user_kb).runs) == 4 + 3


def test_transient_connection_errors_are_retried(fake, user_kb, tmp_path):
    fake.fail_first = 2
    result = run(user_kb, tmp_path)
    assert result["added_runs"] == 3


def test_retries_wait_the_given_backoff_doubling_each_time(fake, user_kb, tmp_path, monkeypatch):
    delays: list[float] = []
    monkeypatch.setattr(refresh.time, "sleep", delays.append)
    fake.fail_first = 2  # the suite request fails twice, then everything answers
    refresh.refresh_openml(user_kb, suite=99, flows=(6969,), page_size=2,
                           cache=tmp_path / "pages", backoff_s=0.25)
    assert delays == [0.25, 0.5]

    delays.clear()
    fake.fail_first = 100
    with pytest.raises(KnowledgeBaseError, match="after 4 tries"):
        refresh.refresh_openml(user_kb, suite=99, flows=(6969,), page_size=2,
                               cache=tmp_path / "pages", backoff_s=0.5)
    assert delays == [0.5, 1.0, 2.0]  # no wait after the last try


def test_a_dead_connection_gives_one_clear_error(fake, user_kb, tmp_path):
    fake.fail_first = 100
    with pytest.raises(KnowledgeBaseError, match="OpenML did not answer"):
        run(user_kb, tmp_path)
    assert len(load(user_kb).runs) == 4


def test_the_shipped_kb_is_never_the_target(fake, tmp_path):
    with pytest.raises(KnowledgeBaseError, match="never modified"):
        refresh.refresh_openml(store.default_path(), suite=99, flows=(6969,), page_size=2,
                               cache=tmp_path / "pages", backoff_s=0)


def test_cli_refresh(fake, user_kb, tmp_path, cli, monkeypatch):
    monkeypatch.setattr(refresh, "cache_dir", lambda: tmp_path / "pages")
    code, out, err = cli("kb", "refresh", "--openml", "--suite", "99", "--flows", "6969",
                         "--page-size", "2", "--kb", str(user_kb))
    assert code == 0, err
    assert "3 new runs" in out
    code, _, err = cli("kb", "refresh", "--kb", str(user_kb))
    assert code == 2 and "--openml" in err


def test_adaboost_setup_translates_its_base_tree_and_drops_removed_parameters():
    from metarec import pipelines
    from metarec.kb.importers import openml_live

    ada = "sklearn.ensemble.weight_boosting.AdaBoostClassifier(12)"
    tree = "sklearn.tree.tree.DecisionTreeClassifier(9)"
    parameters = {
        f"{ada}_algorithm": '"SAMME.R"', f"{ada}_learning_rate": "0.5",
        f"{ada}_n_estimators": "200", f"{tree}_max_depth": "3",
        "sklearn.preprocessing.imputation.Imputer(3)_strategy": '"most_frequent"',
    }
    spec, notes = openml_live.translate(parameters)
    assert spec["algorithm"] == "adaboost" and spec["imputer"] == "most_frequent"
    assert spec["hyperparameters"] == {"learning_rate": 0.5, "n_estimators": 200, "max_depth": 3}
    assert any("algorithm" in note for note in notes)
    pipe = pipelines.build(spec)
    assert pipe.named_steps["model"].estimator.max_depth == 3
    assert openml_live.translate({"weka.J48(1)_C": "0.25"}) is None


def test_the_page_cache_lives_under_metarec_cache_dir(fake, user_kb, tmp_path, monkeypatch):
    monkeypatch.setenv("METAREC_CACHE_DIR", str(tmp_path / "cache"))
    refresh.refresh_openml(user_kb, suite=99, flows=(6969,), page_size=2, backoff_s=0)
    assert len(list((tmp_path / "cache" / "openml").glob("*.json"))) == 1  # the one full page
