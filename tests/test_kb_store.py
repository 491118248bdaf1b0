"""Knowledge-base storage: verified loads, one clear error for bad KBs, atomic locked writes.

These tests write small synthetic knowledge bases, so they need neither ../shared/data nor the
shipped KB.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pandas as pd
import pytest

from metarec.errors import KnowledgeBaseError
from metarec.kb import schema, store


@pytest.fixture
def kb_dir(tmp_path: Path, tiny_tables, kb_manifest) -> Path:
    out = tmp_path / "kb"
    store.write(tiny_tables(), kb_manifest(), out)
    return out


def test_round_trip_keeps_rows_dtypes_and_checksums(kb_dir):
    kb = store.load(kb_dir)
    assert len(kb.runs) == 4 and len(kb.datasets) == 2
    assert {"name", "openml_did"} <= set(kb.datasets.columns)
    assert str(kb.datasets["openml_did"].dtype) == "Int64"
    recorded = json.loads((kb_dir / "manifest.json").read_text())
    assert recorded["tables"]["runs"]["rows"] == 4
    assert len(recorded["tables"]["runs"]["sha256"]) == 64
    assert kb.summary()["sources"]["test"]["runs"] == 4


def _flip_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


def _edit_manifest(path: Path, **changes) -> None:
    file = path / "manifest.json"
    manifest = json.loads(file.read_text())
    manifest.update(changes)
    file.write_text(json.dumps(manifest))


@pytest.mark.parametrize(
    ("damage", "phrase"),
    [
        (lambda p: _flip_byte(p / "runs.parquet"), "corrupt runs.parquet"),
        (lambda p: (p / "configurations.parquet").unlink(), "lacks configurations.parquet"),
        (lambda p: (p / "manifest.json").unlink(), "no manifest.json"),
        (lambda p: (p / "manifest.json").write_text("{not json"), "unreadable manifest"),
        (lambda p: _edit_manifest(p, kb_version=schema.KB_VERSION + 1), "is version"),
        (lambda p: _edit_manifest(p, format="something-else"), "not a metarec"),
    ],
    ids=["corrupt", "partial", "no-manifest", "bad-manifest", "wrong-version", "wrong-format"],
)
def test_damaged_kb_gives_one_clear_error(kb_dir, damage, phrase, cli):
    damage(kb_dir)
    with pytest.raises(KnowledgeBaseError) as info:
        store.load(kb_dir)
    message = str(info.value)
    assert phrase in message and "metarec kb build" in message
    code, out, err = cli("kb", "info", "--kb", str(kb_dir))
    assert code == 2
    assert err.strip().count("\n") == 0 and err.startswith("metarec: error:")
    assert "Traceback" not in out + err


def test_missing_kb_directory_is_a_clear_error(tmp_path, cli):
    code, _, err = cli("kb", "info", "--kb", str(tmp_path / "nowhere"))
    assert code == 2 and "no knowledge base" in err


def test_rewrite_replaces_tables_and_keeps_readme_and_sub_folders(kb_dir, tiny_tables,
                                                                  kb_manifest):
    (kb_dir / "README.md").write_text("docs\n")
    (kb_dir / "imputation").mkdir()
    (kb_dir / "imputation" / "runs.parquet").write_bytes(b"another team's table")
    store.write(tiny_tables(n_runs=6), kb_manifest(), kb_dir)
    assert len(store.load(kb_dir).runs) == 6
    assert (kb_dir / "README.md").read_text() == "docs\n"
    assert (kb_dir / "imputation" / "runs.parquet").read_bytes() == b"another team's table"
    assert not [p for p in kb_dir.parent.iterdir() if p.name.startswith(".kb.")]


def test_a_second_writer_waits_for_the_lock_then_gives_a_clear_error(kb_dir, monkeypatch,
                                                                     tiny_tables, kb_manifest):
    monkeypatch.setattr(store, "LOCK_TIMEOUT_S", 0.2)
    with store.lock_for(kb_dir):
        with pytest.raises(KnowledgeBaseError, match="another process is writing"):
            store.write(tiny_tables(), kb_manifest(), kb_dir)
    assert len(store.load(kb_dir).runs) == 4


def test_killing_a_writer_mid_write_leaves_the_old_kb_intact(kb_dir, tmp_path, tiny_tables,
                                                            kb_manifest):
    before = json.loads((kb_dir / "manifest.json").read_text())["tables"]
    ready = tmp_path / "ready"
    new = tmp_path / "new_kb.pickle"  # what the child writes: the tables and manifest to store
    pd.to_pickle((tiny_tables(n_runs=9), kb_manifest()), new)
    # The child writes a new KB but stalls after its first table; we kill it there (SIGKILL, so
    # no cleanup code runs) exactly as a crash or an impatient Ctrl-C would.
    script = textwrap.dedent(f"""
        import time
        from pathlib import Path
        import pandas as pd
        from metarec.kb import store
        real = store._write_table
        def stalling(frame, path):
            real(frame, path)
            Path({str(ready)!r}).write_text("x")
            time.sleep(60)
        store._write_table = stalling
        tables, manifest = pd.read_pickle({str(new)!r})
        store.write(tables, manifest, Path({str(kb_dir)!r}))
    """)
    repo = Path(__file__).resolve().parents[1]
    child = subprocess.Popen([sys.executable, "-c", script], cwd=repo)
    try:
        deadline = time.monotonic() + 60
        while not ready.exists():
            assert child.poll() is None, "the writer exited before it was killed"
            assert time.monotonic() < deadline, "the writer never reached its first table"
            time.sleep(0.05)
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.wait(timeout=30)
    kb = store.load(kb_dir)
    assert len(kb.runs) == 4
    assert json.loads((kb_dir / "manifest.json").read_text())["tables"] == before


def test_a_write_that_fails_midway_leaves_the_old_kb_and_no_temporary(kb_dir, monkeypatch,
                                                                      tiny_tables, kb_manifest):
    before = (kb_dir / "manifest.json").read_text()
    real = store._write_table
    written = []

    def failing(frame, path):
        if written:
            raise OSError("disk full")
        written.append(path)
        real(frame, path)

    monkeypatch.setattr(store, "_write_table", failing)
    with pytest.raises(OSError, match="disk full"):
        store.write(tiny_tables(n_runs=9), kb_manifest(), kb_dir)
    assert (kb_dir / "manifest.json").read_text() == before
    assert len(store.load(kb_dir).runs) == 4
    assert [p.name for p in kb_dir.parent.iterdir()] == ["kb"]


def test_a_written_kb_is_readable_by_all(kb_dir):
    assert kb_dir.stat().st_mode & 0o777 == 0o755
