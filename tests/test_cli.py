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
