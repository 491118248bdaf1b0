"""Atomic writes: the target holds the old content or the new, never a part; no temporary stays.
JSON-lines records: appended whole, read back whole."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from metarec.files import (
    append_jsonl,
    atomic_directory,
    atomic_path,
    atomic_write_text,
    read_jsonl,
)


class Interrupted(Exception):
    pass


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    yield
    os.umask(old)


def test_write_text_creates_and_replaces(tmp_path):
    target = tmp_path / "sub" / "file.json"
    atomic_write_text(target, "one")
    atomic_write_text(target, "two")
    assert target.read_text(encoding="utf-8") == "two"
    assert sorted(p.name for p in target.parent.iterdir()) == ["file.json"]


@pytest.mark.parametrize("existing", [True, False])
def test_a_failed_write_leaves_the_old_content_and_no_temporary(tmp_path, existing):
    target = tmp_path / "file.txt"
    if existing:
        target.write_text("old", encoding="utf-8")
    with pytest.raises(Interrupted), atomic_path(target) as tmp:
        tmp.write_text("half of the new", encoding="utf-8")
        raise Interrupted
    if existing:
        assert target.read_text(encoding="utf-8") == "old"
    assert [p.name for p in tmp_path.iterdir()] == (["file.txt"] if existing else [])


def test_the_temporary_is_a_hidden_sibling(tmp_path):
    target = tmp_path / "model.bin"
    with atomic_path(target) as tmp:
        assert tmp.parent == tmp_path and tmp.name.startswith(".model.bin.") and tmp.exists()
        tmp.write_bytes(b"\x00\x01")
    assert target.read_bytes() == b"\x00\x01" and not tmp.exists()


def test_permissions_follow_the_umask_unless_a_mode_is_given(tmp_path, umask_022):
    atomic_write_text(tmp_path / "plain", "x")
    assert mode_of(tmp_path / "plain") == 0o644
    atomic_write_text(tmp_path / "private", "x", mode=0o600)
    assert mode_of(tmp_path / "private") == 0o600
    os.umask(0o077)
    atomic_write_text(tmp_path / "shared", "x", mode=0o644)
    assert mode_of(tmp_path / "shared") == 0o644


def fill(directory: Path, text: str) -> None:
    (directory / "a.txt").write_text(text, encoding="utf-8")
    (directory / "nested").mkdir()
    (directory / "nested" / "b.txt").write_text(text, encoding="utf-8")


def test_directory_is_replaced_whole(tmp_path):
    target = tmp_path / "kb"
    with atomic_directory(target) as tmp:
        fill(tmp, "old")
    with atomic_directory(target) as tmp:
        fill(tmp, "new")
    assert (target / "a.txt").read_text() == "new" == (target / "nested" / "b.txt").read_text()
    assert [p.name for p in tmp_path.iterdir()] == ["kb"]


def test_a_failed_directory_write_keeps_the_old_directory(tmp_path):
    target = tmp_path / "kb"
    with atomic_directory(target) as tmp:
        fill(tmp, "old")
    with pytest.raises(Interrupted), atomic_directory(target) as tmp:
        (tmp / "a.txt").write_text("new", encoding="utf-8")
        raise Interrupted
    assert (target / "a.txt").read_text() == "old" == (target / "nested" / "b.txt").read_text()
    assert [p.name for p in tmp_path.iterdir()] == ["kb"]


def test_a_failed_swap_puts_the_old_directory_back(tmp_path, monkeypatch):
    target = tmp_path / "kb"
    with atomic_directory(target) as tmp:
        fill(tmp, "old")
    real_replace = os.replace

    def replace(src, dst):
        if Path(src).name.startswith(".kb.tmp-"):
            raise OSError("disk gone")
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    with pytest.raises(OSError, match="disk gone"), atomic_directory(target) as tmp:
        fill(tmp, "new")
    assert (target / "a.txt").read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["kb"]


def test_without_overwrite_an_existing_directory_is_kept(tmp_path):
    target = tmp_path / "learner"
    with atomic_directory(target, overwrite=False) as tmp:
        fill(tmp, "first")
    with pytest.raises(OSError), atomic_directory(target, overwrite=False) as tmp:
        fill(tmp, "second")
    assert (target / "a.txt").read_text() == "first"
    assert [p.name for p in tmp_path.iterdir()] == ["learner"]


def test_directory_mode(tmp_path, umask_022):
    with atomic_directory(tmp_path / "open", mode=0o755) as tmp:
        fill(tmp, "x")
    assert mode_of(tmp_path / "open") == 0o755
    os.umask(0o077)
    with atomic_directory(tmp_path / "default") as tmp:
        fill(tmp, "x")
    assert mode_of(tmp_path / "default") == 0o700


def test_a_failed_pipeline_save_keeps_the_old_model(tmp_path, monkeypatch):
    import skops.io as sio
    from sklearn.dummy import DummyClassifier

    from metarec.tuning.persistence import save_pipeline

    target = tmp_path / "model.skops"
    save_pipeline(DummyClassifier().fit([[0], [1]], [0, 1]), target)
    before = target.read_bytes()

    def half_then_fail(obj, file):
        Path(file).write_bytes(b"PK half a zip")
        raise Interrupted

    monkeypatch.setattr(sio, "dump", half_then_fail)
    with pytest.raises(Interrupted):
        save_pipeline(DummyClassifier(), target, overwrite=True)
    assert target.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["model.skops"]


def test_a_checkpoint_is_shared_like_any_file(tmp_path, umask_022):
    pytest.importorskip("torch")
    from metarec.fewshot.checkpoint import load_checkpoint, save_checkpoint
    from metarec.fewshot.methods import build_method

    os.umask(0o077)
    path = tmp_path / "tiny.pt"
    save_checkpoint(path, build_method("protonet", hidden=8, image_size=16).eval(), {"a": 1})
    assert mode_of(path) == 0o644 and [p.name for p in tmp_path.iterdir()] == ["tiny.pt"]
    assert load_checkpoint(path)[1] == {"a": 1}


def test_every_cache_is_under_one_root_that_metarec_cache_dir_moves(tmp_path, monkeypatch):
    from platformdirs import user_cache_dir

    from metarec.files import cache_root
    from metarec.kb import refresh
    from metarec.recommend import learner_cache

    monkeypatch.setenv("METAREC_CACHE_DIR", str(tmp_path))
    assert cache_root() == tmp_path
    assert learner_cache.cache_dir() == tmp_path / "learners"
    assert refresh.cache_dir() == tmp_path / "openml"
    monkeypatch.delenv("METAREC_CACHE_DIR")
    assert cache_root() == Path(user_cache_dir("metarec", appauthor=False))
    assert refresh.cache_dir().parent == learner_cache.cache_dir().parent == cache_root()


def _append_many(path: str, tag: str) -> None:
    for i in range(300):
        append_jsonl(path, [{"tag": tag, "i": i, "pad": "x" * 500}])


def test_appenders_in_two_processes_never_interleave_their_lines(tmp_path: Path) -> None:
    import multiprocessing

    record = tmp_path / "runs.jsonl"
    workers = [multiprocessing.get_context("spawn").Process(target=_append_many,
                                                            args=(str(record), tag))
               for tag in "ab"]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    records = read_jsonl(record)
    assert len(records) == len(record.read_text().splitlines()) == 600
    for tag in "ab":
        assert [r["i"] for r in records if r["tag"] == tag] == list(range(300))


def test_a_record_cut_short_is_skipped_and_the_rest_read(tmp_path: Path) -> None:
    record = tmp_path / "runs.jsonl"
    append_jsonl(record, [{"a": 1}, {"a": 2}])
    with record.open("a") as handle:
        handle.write('{"a": 3, "b"\n')
    append_jsonl(record, [{"a": 4}])
    append_jsonl(record, [])
    assert [r["a"] for r in read_jsonl(record)] == [1, 2, 4]
    assert read_jsonl(tmp_path / "missing.jsonl") == []
