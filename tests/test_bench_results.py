"""The committed record of long benchmark runs, and where a benchmark's new section goes."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import results
from bench.report import write_section


def test_the_last_record_of_a_key_holds(tmp_path: Path) -> None:
    record = tmp_path / "sub" / "runs.jsonl"
    results.append(record, "a", {"score": 0.1})
    results.append(record, "b", {"score": 0.2})
    results.append(record, "a", {"score": 0.3})
    assert results.read(record) == {"a": {"score": 0.3}, "b": {"score": 0.2}}
    assert len(record.read_text().splitlines()) == 3


def test_a_line_cut_short_is_skipped_and_named(tmp_path: Path,
                                               caplog: pytest.LogCaptureFixture) -> None:
    record = tmp_path / "runs.jsonl"
    results.append(record, "a", {"score": 0.1})
    with record.open("a") as file:
        file.write('{"key": "b", "sco')
    results.append(record, "c", {"score": 0.3})
    assert results.read(record) == {"a": {"score": 0.1}}
    assert "runs.jsonl:2 is not a whole record" in caplog.text


def test_no_record_reads_as_empty(tmp_path: Path) -> None:
    assert results.read(tmp_path / "none.jsonl") == {}


def test_a_nan_is_refused_rather_than_written(tmp_path: Path) -> None:
    results.append(tmp_path / "runs.jsonl", "a", {"score": float("nan")})
    assert results.read(tmp_path / "runs.jsonl") == {"a": {"score": None}}


def test_a_new_section_goes_after_the_one_named(tmp_path: Path) -> None:
    md = tmp_path / "b.md"
    md.write_text("# B\n\n<!-- BEGIN one -->\nx\n<!-- END one -->\n\n"
                  "<!-- BEGIN two -->\ny\n<!-- END two -->\n")
    write_section("one-b", "z", md, after="one")
    write_section("three", "w", md, after="missing")
    text = md.read_text()
    assert text.index("one -->") < text.index("BEGIN one-b") < text.index("BEGIN two")
    assert text.rstrip().endswith("<!-- END three -->")
    write_section("one-b", "z2", md, after="one")
    assert text.count("BEGIN one-b") == 1 and "z2" in md.read_text()
