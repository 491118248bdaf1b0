"""The prepared GPU run of the few-shot recipe, exercised on the CPU with a tiny recipe."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from bench import bench_fewshot_device as device_bench  # noqa: E402

ALPHABETS = {"Latin": 6, "Early_Aramaic": 5, "Sanskrit": 10, "Tagalog": 10}


@pytest.fixture
def alphabets(tmp_path: Path) -> Path:
    """alphabet/character/drawing.png, each character a few noisy copies of its own strokes."""
    from PIL import Image

    rng = np.random.default_rng(0)
    root = tmp_path / "omniglot"
    for alphabet, characters in ALPHABETS.items():
        for character in range(characters):
            strokes = rng.random((28, 28)) > 0.8
            folder = root / alphabet / f"character{character:02d}"
            folder.mkdir(parents=True)
            for drawer in range(6):
                noisy = strokes ^ (rng.random((28, 28)) > 0.97)
                Image.fromarray(np.where(noisy, 0, 255).astype(np.uint8)).save(
                    folder / f"{drawer}.png")
    return root


@pytest.fixture
def tiny_recipe(tmp_path: Path) -> Path:
    from metarec.fewshot.checkpoint import save_checkpoint
    from metarec.fewshot.methods import build_method

    path = tmp_path / "recipe.pt"
    meta = {"train_config": {"method": "protonet", "n_way": 5, "k_shot": 1, "n_query": 2,
                             "episodes": 30000, "device": "auto", "seed": 3, "val_way": 5,
                             "val_episodes": 4, "method_options": {"hidden": 8},
                             "mirrors": True, "augment": True}}
    save_checkpoint(path, build_method("protonet", hidden=8, image_size=28), meta)
    return path


def test_the_recipe_is_read_from_the_checkpoint_without_its_length_or_device(
    tiny_recipe: Path,
) -> None:
    settings = device_bench.shipped_recipe(tiny_recipe)
    assert settings["n_way"] == 5 and settings["method_options"] == {"hidden": 8}
    assert not {"episodes", "device", "seed"} & set(settings)


def test_the_cpu_half_trains_times_scores_and_reports(
    alphabets: Path, tiny_recipe: Path, tmp_path: Path
) -> None:
    record_path = tmp_path / "device.json"
    device_bench.main([
        "--devices", "cpu", "--episodes", "6", "--warmup", "2", "--eval-episodes", "5",
        "--data", str(alphabets), "--recipe", str(tiny_recipe), "--record", str(record_path),
        "--out-dir", str(tmp_path / "out"), "--no-write",
    ])  # fmt: skip
    record = json.loads(record_path.read_text())
    assert record["train_alphabets"] == ["Latin"]
    assert record["test_alphabets"] == ["Sanskrit", "Tagalog"]
    (run,) = record["runs"]
    assert run["device"] == "cpu" and run["precision"] == "float32"
    assert run["timed_episodes"] == 4 and run["seconds_per_episode"] > 0
    for key in ("5w1s", "20w1s"):
        assert 0.0 <= run["test"][key]["accuracy"] <= 1.0
        assert run["test"][key]["episodes"] == 5
    table = device_bench.render(record)
    assert "| CPU | float32 |" in table and "| 1.0x |" in table


def test_two_devices_are_compared_within_their_combined_interval() -> None:
    def run(name: str, seconds: float, accuracy: float) -> dict:
        test = {k: {"accuracy": accuracy, "ci95": 0.003, "episodes": 1000}
                for k in ("5w1s", "20w1s")}
        return {"device": name.lower(), "device_name": name, "precision": "float32",
                "threads": 1, "episodes": 2000, "timed_episodes": 1900,
                "seconds_per_episode": seconds, "test": test}

    record = {"machine": "m", "torch": "t", "recipe": {"n_way": 20}, "recipe_from": "r.pt",
              "train_alphabets": ["A"], "val_alphabets": ["B"], "test_alphabets": ["C"],
              "eval_episodes": 1000, "queries": 5,
              "runs": [run("CUDA", 0.01, 0.870), run("CPU", 0.08, 0.866)]}
    table = device_bench.render(record)
    assert "| 8.0x |" in table
    assert "+0.4 points; the combined 95% interval is ±0.4: the two agree" in table
    record["runs"][0]["test"]["20w1s"]["accuracy"] = 0.880
    assert "+1.4 points" in device_bench.render(record)
    assert "the two do not agree" in device_bench.render(record)


def test_a_missing_gpu_ends_the_run_in_one_sentence_before_reading_data(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(SystemExit, match="no CUDA GPU is available"):
        device_bench.main(["--devices", "cuda", "--data", str(tmp_path / "absent.zip"),
                           "--record", str(tmp_path / "r.json"), "--no-write"])
    assert not (tmp_path / "r.json").exists()
