"""The command line: help, JSON output, and start-up that never imports torch."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "colic.csv"


def test_import_metarec_and_cli_never_imports_torch() -> None:
    code = (
        "import sys, metarec, metarec.cli.main, metafeatures, metarec.io; "
        "assert 'torch' not in sys.modules, 'torch was imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_help_lists_profile(cli) -> None:
    code, stdout, _ = cli("--help")
    assert code == 0
    assert "profile" in stdout


def test_profile_json_is_one_valid_object(cli) -> None:
    code, stdout, stderr = cli("profile", str(EXAMPLE), "--target", "surgical_lesion", "--json")
    assert code == 0, stderr
    payload = json.loads(stdout)
    assert payload["task"] == "classification"
    assert payload["target"] == "surgical_lesion"
    values = payload["metafeatures"]
    assert values["NumberOfInstances"] == 368
    assert values["NumberOfMissingValues"] > 0
    assert set(payload["groups"]) == {
        "simple",
        "statistical",
        "info-theory",
        "missingness",
        "landmarking",
    }
    # Undefined values are null in JSON, never NaN (which is not JSON).
    assert values["DecisionStumpR2"] is None


def test_profile_table_shows_groups(cli) -> None:
    code, stdout, _ = cli("profile", str(EXAMPLE), "-t", "surgical_lesion", "-g", "missingness")
    assert code == 0
    assert "MissingPatternEntropy" in stdout


def test_installed_console_script_exits_2_on_bad_input(tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    script = Path(sys.executable).parent / "metarec"
    result = subprocess.run([str(script), "profile", str(empty)], capture_output=True, text=True)
    assert result.returncode == 2
    assert result.stderr.strip() == f"metarec: error: {empty.name} is empty."


# Every command that reads a data file, with the arguments that make it quick where it succeeds.
READERS = {
    "profile": ["profile", "-g", "simple"],
    "recommend": ["recommend"],
    "tune": ["tune", "--trials", "0"],
    "kb add": ["kb", "add"],
}
READ_FLAGS = ("--target", "-t", "--strict", "--lenient", "--encoding", "--sep")


def _run(cli, command: str, path: Path, *args: str, kb: Path | None = None):
    words = READERS[command]
    extra = ["--kb", str(kb)] if command == "kb add" and kb is not None else []
    return cli(*words[:2 if command == "kb add" else 1], str(path),
               *words[2 if command == "kb add" else 1:], "-t", "y", *args, *extra)


def _one_error(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.startswith("metarec: error:")]
    assert len(lines) == 1 and "Traceback" not in stderr, stderr
    return lines[0]


def test_every_reading_command_takes_the_same_read_options(cli) -> None:
    for command, words in READERS.items():
        code, stdout, _ = cli(*words[:2 if command == "kb add" else 1], "--help")
        assert code == 0
        missing = [flag for flag in READ_FLAGS if flag not in stdout]
        assert not missing, f"{command} lacks {missing}"


def test_sep_takes_a_tab_as_the_shell_writes_it(cli, tmp_path: Path) -> None:
    # Comma and tab split every line in two: the sniffer keeps the comma, --sep says tab.
    path = tmp_path / "tabs.csv"
    path.write_text("a,b\ty\n" + "".join(f"{i},{i}\t{'pq'[i % 2]}\n" for i in range(9)))
    code, _, stderr = cli("profile", str(path), "-t", "y", "-g", "simple")
    assert code == 2 and "target column 'y' is not in" in stderr
    code, stdout, stderr = cli("profile", str(path), "-t", "y", "--sep", "\\t", "-g", "simple",
                               "--json")
    assert code == 0, stderr
    assert json.loads(stdout)["metafeatures"]["NumberOfFeatures"] == 2


def test_a_damaged_gzip_is_one_sentence_in_every_command(cli, damaged_gzip, tmp_path) -> None:
    for command in READERS:
        code, _, stderr = _run(cli, command, damaged_gzip, kb=tmp_path / "kb")
        assert code == 2, (command, stderr)
        assert "damaged or not gzip-compressed" in _one_error(stderr)


def test_empty_columns_are_repaired_or_refused_at_once(cli, six_empty_columns, tmp_path):
    code, _, stderr = _run(cli, "profile", six_empty_columns)
    assert code == 0, stderr
    [note] = [line for line in stderr.splitlines() if line.startswith("metarec: warning:")]
    assert "6 entirely missing columns ('e1', 'e2', 'e3', 'e4', 'e5', 'e6')" in note
    assert "1 constant column ('k')" in note
    for command in READERS:
        code, _, stderr = _run(cli, command, six_empty_columns, "--strict", kb=tmp_path / "kb")
        assert code == 2, (command, stderr)
        error = _one_error(stderr)
        assert all(f"'e{i}'" in error for i in range(1, 7)) and "'k'" in error
        assert "read it without --strict" in error


UNSPLITTABLE = [
    ("two_rows.csv", "a,y\n1,p\n2,q\n", "classes 'p', 'q' have a single row each"),
    ("one_row_class.csv", "a,y\n" + "".join(f"{i},{'pq'[i % 2]}\n" for i in range(20))
     + "21,r\n", "class 'r' has a single row"),
    ("three_rows.csv", "a,y\n1,0.5\n2,1.5\n3,2.25\n", "too few to cross-validate"),
]


def test_one_rule_for_what_can_be_learned_from(cli, tmp_path) -> None:
    for name, text, phrase in UNSPLITTABLE:
        path = tmp_path / name
        path.write_text(text)
        for command in ("recommend", "tune", "kb add"):
            code, _, stderr = _run(cli, command, path, kb=tmp_path / "kb")
            assert code == 2, (name, command, stderr)
            assert phrase in _one_error(stderr), (name, command)
    assert not (tmp_path / "kb").exists()


def test_numeric_overflow_warnings_never_reach_stderr(tmp_path: Path) -> None:
    rows = "".join(f"{(i % 7) * 1.5e306},{i * 1e120},{'pq'[i % 2]}\n" for i in range(40))
    path = tmp_path / "huge.csv"
    path.write_text("big,large,y\n" + rows)
    script = Path(sys.executable).parent / "metarec"
    result = subprocess.run([str(script), "profile", str(path), "-g", "statistical"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "Warning" not in result.stderr and "overflow" not in result.stderr
    assert "values beyond ±1e+150 ('big': 34)" in result.stderr
