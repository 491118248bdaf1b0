"""``metarec fewshot`` end to end: predictions, training, evaluation and bad input."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from metarec.cli.main import app
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
SHIPPED_MODEL = REPO / "knowledge_base" / "fewshot" / "protonet_omniglot.pt"


def invoke(*args: str) -> tuple[int, str, str]:
    from typer.testing import CliRunner

    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def glyph(class_index: int, size: int = 20, seed: int = 0) -> Image.Image:
    rng = np.random.default_rng(seed)
    pixels = np.full((size, size), 255.0)
    row, col = divmod(class_index, 3)
    step = size // 4
    pixels[row * step : (row + 1) * step, col * step : (col + 1) * step] = 0
    pixels = np.clip(pixels - rng.uniform(0, 40, pixels.shape), 0, 255)
    return Image.fromarray(pixels.astype(np.uint8))


def make_support(root: Path, classes: int = 3, per_class: int = 2, size: int = 20) -> Path:
    for c in range(classes):
        (root / f"class{c}").mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            glyph(c, size, seed=i).save(root / f"class{c}" / f"{i}.png")
    return root


@pytest.fixture
def tiny_model(tmp_path: Path) -> Path:
    torch = pytest.importorskip("torch")
    from metarec.fewshot.checkpoint import save_checkpoint
    from metarec.fewshot.methods import build_method

    torch.manual_seed(0)
    path = tmp_path / "tiny.pt"
    save_checkpoint(path, build_method("protonet", hidden=8, image_size=16).eval(), {})
    return path


def test_predict_maps_each_query_file_to_its_class(tmp_path: Path, tiny_model: Path) -> None:
    support = make_support(tmp_path / "support")
    query = tmp_path / "query"
    query.mkdir()
    # A query identical to a support image lies on that image's embedding, whatever the weights
    # (with one view: averaged distorted views of a random network's input are not identical).
    for c in range(3):
        glyph(c, seed=0).convert("RGB").save(query / f"q{c}.png")
    code, out, err = invoke(
        "fewshot", "predict", "--support", str(support), "--query", str(query),
        "--model", str(tiny_model), "--json", "--device", "cpu", "--views", "1",
    )  # fmt: skip
    assert code == 0, err
    assert json.loads(out) == {"q0.png": "class0", "q1.png": "class1", "q2.png": "class2"}


@pytest.mark.skipif(not SHIPPED_MODEL.exists(), reason="the shipped model has not been trained")
def test_predict_uses_the_shipped_model_by_default(tmp_path: Path) -> None:
    support = make_support(tmp_path / "support", size=105)
    query = tmp_path / "query"
    query.mkdir()
    glyph(1, 105, seed=0).save(query / "x.png")
    code, out, err = invoke(
        "fewshot", "predict", "--support", str(support), "--query", str(query), "--json"
    )
    assert code == 0, err
    assert json.loads(out) == {"x.png": "class1"}


@pytest.mark.skipif(not SHIPPED_MODEL.exists(), reason="the shipped model has not been trained")
def test_shipped_model_is_small_plain_data_validated_on_an_unseen_alphabet() -> None:
    torch = pytest.importorskip("torch")
    assert SHIPPED_MODEL.stat().st_size < 5 * 2**20  # a few MB at most: it ships in the repo
    meta = torch.load(SHIPPED_MODEL, weights_only=True)["meta"]
    # Early_Aramaic is every recipe's validation alphabet (docs/fewshot.md): a shipped model
    # that trained on it would make all validation comparisons meaningless.
    assert meta["validation"] == "alphabets held out for validation: Early_Aramaic"
    assert "Early_Aramaic" not in meta.get("train_alphabets", [])


def _one_class(root: Path) -> None:
    make_support(root, classes=1)


def _empty_class(root: Path) -> None:
    make_support(root)
    (root / "class9").mkdir()


def _non_image(root: Path) -> None:
    make_support(root)
    (root / "class0" / "notes.txt").write_text("not an image")


def _corrupt_png(root: Path) -> None:
    make_support(root)
    (root / "class1" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00garbage" * 10)


def _mismatched_sizes(root: Path) -> None:
    make_support(root)
    glyph(0, size=33).save(root / "class0" / "big.png")


def _traversal_zip(root: Path) -> Path:
    archive = root.parent / "support.zip"
    buffer = io.BytesIO()
    glyph(0).save(buffer, format="PNG")
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("class0/a.png", buffer.getvalue())
        zf.writestr("class1/b.png", buffer.getvalue())
        zf.writestr("../../escaped.png", buffer.getvalue())
    return archive


BAD_SUPPORT = {
    "one class": (_one_class, "at least 2 classes"),
    "empty class folder": (_empty_class, "contains no images"),
    "non-image file": (_non_image, "is not an image file"),
    "corrupt png": (_corrupt_png, "is not a readable image"),
    "mismatched sizes": (_mismatched_sizes, "mismatched sizes"),
    "zip with ../ paths": (_traversal_zip, "unsafe path"),
}


@pytest.mark.parametrize("case", list(BAD_SUPPORT))
def test_bad_support_gives_one_sentence_and_exit_2(
    case: str, tmp_path: Path, tiny_model: Path
) -> None:
    build, expected = BAD_SUPPORT[case]
    support = tmp_path / "support"
    support.mkdir()
    support = build(support) or support
    query = make_support(tmp_path / "query", classes=1) / "class0"
    code, out, err = invoke(
        "fewshot", "predict", "--support", str(support), "--query", str(query),
        "--model", str(tiny_model),
    )  # fmt: skip
    assert code == 2, (out, err)
    assert expected in err
    assert err.startswith("metarec: error:") and err.count("\n") == 1
    assert "Traceback" not in out + err
    assert not (tmp_path.parent / "escaped.png").exists()


@pytest.mark.parametrize("views", ["0", "-3"])
def test_views_below_one_give_one_sentence_and_exit_2(
    views: str, tmp_path: Path, tiny_model: Path
) -> None:
    support = make_support(tmp_path / "support")
    query = make_support(tmp_path / "query", classes=1) / "class0"
    code, out, err = invoke(
        "fewshot", "predict", "--support", str(support), "--query", str(query),
        "--model", str(tiny_model), "--views", views,
    )  # fmt: skip
    assert code == 2 and "--views must be at least 1" in err
    assert err.count("\n") == 1 and "Traceback" not in out + err


def test_training_on_a_traversal_zip_is_refused(tmp_path: Path) -> None:
    archive = _traversal_zip(tmp_path / "x")
    code, _, err = invoke("fewshot", "train", "--data", str(archive), "-o", str(tmp_path / "m.pt"))
    assert code == 2 and "unsafe path" in err


def test_missing_or_foreign_model_is_a_clear_error(tmp_path: Path) -> None:
    support = make_support(tmp_path / "support")
    fake = tmp_path / "fake.pt"
    fake.write_bytes(b"definitely not a checkpoint")
    for model in (tmp_path / "missing.pt", fake):
        code, _, err = invoke(
            "fewshot", "predict", "--support", str(support), "--query", str(support / "class0"),
            "--model", str(model),
        )  # fmt: skip
        assert code == 2 and err.startswith("metarec: error:") and "Traceback" not in err


@pytest.mark.parametrize("command", ["predict", "train", "evaluate"])
@pytest.mark.parametrize("module", ["PIL", "torch"])
def test_without_the_fewshot_extra_the_error_names_it(
    command: str, module: str, tmp_path: Path, tiny_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    images = make_support(tmp_path / "images")
    args = {
        "predict": ["--support", str(images), "--query", str(images / "class0"),
                    "--model", str(tiny_model)],
        "train": ["--data", str(images), "-o", str(tmp_path / "m.pt")],
        "evaluate": ["--data", str(images), "--model", str(tiny_model)],
    }[command]
    # As if the module were not installed: `import PIL` raises ImportError, even where an earlier
    # test imported it.
    monkeypatch.setitem(sys.modules, module, None)
    code, out, err = invoke("fewshot", command, *args)
    package = {"PIL": "Pillow", "torch": "torch"}[module]
    assert code == 2, (out, err)
    assert f"needs {package}, which is not installed" in err
    assert "`pip install 'metarec[fewshot]'`" in err and "internal error" not in err
    assert err.count("\n") == 1 and not (tmp_path / "m.pt").exists()


def test_train_then_evaluate_on_a_tiny_folder(tmp_path: Path) -> None:
    data = make_support(tmp_path / "data", classes=8, per_class=4, size=16)
    model = tmp_path / "model.pt"
    common = ["--image-size", "16", "--threads", "1", "--device", "cpu"]
    code, out, err = invoke(
        "fewshot", "train", "--data", str(data), "--ways", "3", "--shots", "1", "--queries", "2",
        "--episodes", "4", "--epoch-episodes", "2", "--val-way", "2", "--val-episodes", "2",
        "--no-rotations", "--mirrors", "-o", str(model), "--json", *common,
    )  # fmt: skip
    assert code == 0, err
    summary = json.loads(out)
    assert summary["episodes"] == 4 and len(summary["history"]) == 2 and model.exists()
    code, out, err = invoke(
        "fewshot", "evaluate", "--data", str(data), "--model", str(model), "--ways", "3",
        "--episodes", "5", "--queries", "2", "--json", "--threads", "1", "--device", "cpu",
        "--views", "2",
    )  # fmt: skip
    assert code == 0, err
    result = json.loads(out)
    assert result["views"] == 2
    assert result["episodes"] == 5 and 0.0 <= result["accuracy"] <= 1.0 and result["ci95"] >= 0
    # The user's file is never overwritten without --force.
    code, _, err = invoke("fewshot", "train", "--data", str(data), "-o", str(model), *common)
    assert code == 2 and "already exists" in err


def test_evaluate_json_is_strict_when_one_episode_has_no_interval(
    tmp_path: Path, tiny_model: Path
) -> None:
    data = make_support(tmp_path / "data", classes=4, per_class=3, size=16)
    code, out, err = invoke(
        "fewshot", "evaluate", "--data", str(data), "--model", str(tiny_model), "--ways", "2",
        "--episodes", "1", "--queries", "1", "--json", "--threads", "1", "--device", "cpu",
    )  # fmt: skip
    assert code == 0, err
    result = json.loads(out, parse_constant=lambda name: pytest.fail(f"{name} in the JSON"))
    assert result["episodes"] == 1 and result["ci95"] is None


def test_train_can_hold_out_characters_of_every_alphabet(tmp_path: Path) -> None:
    for alphabet in ("Alpha", "Beta"):
        make_support(tmp_path / "data" / alphabet, classes=5, per_class=3, size=16)
    code, out, err = invoke(
        "fewshot", "train", "--data", str(tmp_path / "data"), "--ways", "3", "--queries", "2",
        "--episodes", "2", "--epoch-episodes", "2", "--val-way", "2", "--val-episodes", "2",
        "--val-split", "characters", "--val-fraction", "0.2", "--no-rotations", "--image-size",
        "16", "--threads", "1", "--device", "cpu", "-o", str(tmp_path / "m.pt"), "--json",
    )  # fmt: skip
    assert code == 0, err
    split = json.loads(out)["validation"]["split"]
    assert split.startswith("2 characters held out") and "2 alphabet(s)" in split
    code, _, err = invoke(
        "fewshot", "train", "--data", str(tmp_path / "data"), "--val-split", "drawers",
        "-o", str(tmp_path / "n.pt"),
    )  # fmt: skip
    assert code == 2 and "--val-split must be one of auto, alphabets, classes, characters" in err


def test_importing_metarec_and_its_cli_does_not_import_torch() -> None:
    code = "import metarec, metarec.cli.main, sys; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO)
    code = (
        "import sys, metarec.fewshot as f; assert f.is_image_folder('.') in (True, False); "
        "assert 'torch' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO)


def test_train_on_several_sources_with_test_alphabets_left_out(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    for source, alphabets in (("one", ("Alpha", "Beta")), ("two", ("Beta", "Gamma", "Delta"))):
        for alphabet in alphabets:
            make_support(tmp_path / source / alphabet, classes=4, per_class=3, size=16)
    model = tmp_path / "m.pt"
    code, out, err = invoke(
        "fewshot", "train", "--data", str(tmp_path / "one"), "--data", str(tmp_path / "two"),
        "--exclude-alphabets", "Delta", "--val-alphabets", "Gamma", "--hidden", "12",
        "--ways", "3", "--queries", "2", "--episodes", "2", "--epoch-episodes", "2",
        "--val-way", "2", "--val-episodes", "2", "--no-rotations", "--image-size", "16",
        "--threads", "1", "--device", "cpu", "-o", str(model), "--json",
    )  # fmt: skip
    assert code == 0, err
    payload = torch.load(model, weights_only=True)
    assert payload["meta"]["train_alphabets"] == ["Alpha", "Beta"]  # Beta once, Delta left out
    assert payload["meta"]["val_alphabets"] == ["Gamma"]
    assert payload["config"]["hidden"] == 12
    code, out, err = invoke(
        "fewshot", "evaluate", "--data", str(tmp_path / "one"), "--data", str(tmp_path / "two"),
        "--alphabets", "Delta,Gamma", "--model", str(model), "--ways", "3", "--episodes", "3",
        "--queries", "2", "--transductive", "--json", "--threads", "1", "--device", "cpu",
    )  # fmt: skip
    assert code == 0, err
    result = json.loads(out)
    assert result["transductive"] is True and result["classes"] == 8


def test_transductive_prediction_classifies_every_query(tmp_path: Path, tiny_model: Path) -> None:
    support = make_support(tmp_path / "support")
    query = tmp_path / "query"
    query.mkdir()
    for c in range(3):
        glyph(c, seed=0).save(query / f"q{c}.png")
    code, out, err = invoke(
        "fewshot", "predict", "--support", str(support), "--query", str(query), "--model",
        str(tiny_model), "--json", "--device", "cpu", "--views", "1", "--transductive",
    )  # fmt: skip
    assert code == 0, err
    assert json.loads(out) == {"q0.png": "class0", "q1.png": "class1", "q2.png": "class2"}


@pytest.mark.parametrize(
    ("method", "option", "expected"),
    [
        ("protonet", ["--device", "tpu"], "unknown device 'tpu'"),
        ("maml", ["--transductive"], "--transductive refines class prototypes"),
    ],
)
def test_device_and_transductive_errors_are_one_sentence(
    method: str, option: list[str], expected: str, tmp_path: Path
) -> None:
    torch = pytest.importorskip("torch")
    from metarec.fewshot.checkpoint import save_checkpoint
    from metarec.fewshot.methods import build_method

    torch.manual_seed(0)
    model = tmp_path / "m.pt"
    save_checkpoint(model, build_method(method, hidden=8, image_size=16), {})
    support = make_support(tmp_path / "support")
    code, out, err = invoke(
        "fewshot", "predict", "--support", str(support), "--query", str(support / "class0"),
        "--model", str(model), *option,
    )  # fmt: skip
    assert code == 2 and expected in err, (out, err)
    assert err.startswith("metarec: error:") and err.count("\n") == 1 and "Traceback" not in err


def test_cuda_asked_for_without_a_gpu_is_one_sentence(tmp_path: Path, tiny_model: Path) -> None:
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("a CUDA GPU is present")
    support = make_support(tmp_path / "support")
    for command in (
        ["predict", "--support", str(support), "--query", str(support / "class0")],
        ["evaluate", "--data", str(support), "--ways", "2"],
        ["train", "--data", str(support), "-o", str(tmp_path / "m.pt")],
    ):
        model = [] if command[0] == "train" else ["--model", str(tiny_model)]
        code, out, err = invoke("fewshot", *command, *model, "--device", "cuda")
        assert code == 2, (command, out, err)
        assert "--device cuda was requested but no CUDA GPU is available" in err
        assert err.count("\n") == 1 and "Traceback" not in out + err
    assert not (tmp_path / "m.pt").exists()
