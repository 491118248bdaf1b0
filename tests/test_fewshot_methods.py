"""Few-shot methods learn trivially separable classes; checkpoints round-trip without pickle."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from metarec.errors import DataError, MetaRecError  # noqa: E402
from metarec.fewshot.checkpoint import load_checkpoint, save_checkpoint  # noqa: E402
from metarec.fewshot.data import EpisodeSampler, ImageSet  # noqa: E402
from metarec.fewshot.device import select_device  # noqa: E402
from metarec.fewshot.evaluate import embed_views, evaluate, mean_ci95  # noqa: E402
from metarec.fewshot.methods import build_method  # noqa: E402
from metarec.fewshot.train import TrainConfig, train  # noqa: E402

SIZE = 16
TINY = {"hidden": 8, "image_size": SIZE}
METHOD_CASES = [
    ("protonet", {}),
    ("matching", {}),
    ("siamese", {}),
    ("maml", {"first_order": False, "inner_lr": 0.5}),
    ("maml", {"first_order": True, "inner_lr": 0.5}),
]


@pytest.fixture(autouse=True)
def one_thread():
    """One thread: on a busy CI machine more threads mostly wait for each other."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def separable_set(classes: int = 6, per_class: int = 8, seed: int = 0) -> ImageSet:
    """Class c is a bright 4x4 square at its own place on a noisy background."""
    generator = torch.Generator().manual_seed(seed)
    images = []
    for c in range(classes):
        batch = 0.1 * torch.rand(per_class, 1, SIZE, SIZE, generator=generator)
        row, col = divmod(c, 3)
        batch[:, :, row * 5 : row * 5 + 4, col * 5 : col * 5 + 4] += 1.0
        images.append(batch)
    return ImageSet(images, [f"c{c}" for c in range(classes)], [""] * classes)


def fixed_loss(model, data: ImageSet, episodes: int = 5) -> float:
    sampler = EpisodeSampler(data, 3, 1, 3, seed=123)
    model.train()
    total = 0.0
    for _ in range(episodes):
        e = sampler.sample()
        loss, _ = model.episode_loss(e.support, e.support_labels, e.query, e.query_labels, 3)
        total += loss.item()
    return total / episodes


@pytest.mark.parametrize(("method", "options"), METHOD_CASES)
def test_method_learns_separable_classes(method: str, options: dict, tmp_path: Path) -> None:
    torch.manual_seed(0)
    data = separable_set()
    before = fixed_loss(build_method(method, **TINY, **options), data)
    config = TrainConfig(
        method=method, n_way=3, k_shot=1, n_query=3, episodes=40, epoch_episodes=20, val_way=3,
        val_episodes=10, lr=5e-3, meta_batch=2, rotations=False, device="cpu",
        method_options={"hidden": 8, **options},
    )  # fmt: skip
    result = train(config, data, separable_set(seed=1), tmp_path / "model.pt")
    assert len(result.history) == 2 and result.episodes == 40
    assert fixed_loss(result.model, data) < before
    accuracy = evaluate(result.model, separable_set(seed=2), 3, 1, 3, episodes=20, seed=0)
    assert accuracy.mean > 0.9


def test_checkpoint_round_trip_uses_weights_only(tmp_path: Path) -> None:
    model = build_method("maml", **TINY, first_order=True, inner_steps=2)
    path = tmp_path / "m.pt"
    save_checkpoint(path, model, {"note": "test", "val_accuracy": 0.5})
    raw = torch.load(path, map_location="cpu", weights_only=True)
    assert raw["method"] == "maml" and raw["config"]["inner_steps"] == 2
    loaded, meta = load_checkpoint(path)
    assert meta["note"] == "test" and loaded.first_order and loaded.inner_steps == 2
    for key, value in model.state_dict().items():
        assert torch.equal(value, loaded.state_dict()[key])
    data = separable_set()
    episode = EpisodeSampler(data, 3, 1, 2, seed=0).sample()
    model.eval()
    args = (episode.support, episode.support_labels, episode.query, 3)
    assert torch.allclose(model(*args), loaded(*args))


class _Trap:
    """Unpickling this would create the marker file: the loader must never unpickle."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


@pytest.mark.filterwarnings("ignore:Detected pickle protocol:UserWarning")
def test_pickled_objects_are_refused_not_executed(tmp_path: Path) -> None:
    marker = tmp_path / "executed"
    path = tmp_path / "evil.pt"
    torch.save({"format": "metarec-fewshot-1", "payload": _Trap(marker)}, path)
    with pytest.raises(DataError, match="not a readable"):
        load_checkpoint(path)
    assert not marker.exists()
    path.write_bytes(pickle.dumps({"format": "metarec-fewshot-1"}))
    with pytest.raises(DataError):
        load_checkpoint(path)


def test_validation_checkpoint_keeps_the_best_epoch(tmp_path: Path) -> None:
    config = TrainConfig(
        method="protonet", n_way=3, k_shot=1, n_query=2, episodes=30, epoch_episodes=10,
        val_way=3, val_episodes=5, rotations=False, device="cpu", method_options={"hidden": 8},
    )  # fmt: skip
    result = train(config, separable_set(), separable_set(seed=1), tmp_path / "best.pt")
    best = max(result.history, key=lambda r: r.val_accuracy)
    _, meta = load_checkpoint(tmp_path / "best.pt")
    assert meta["val_accuracy"] == pytest.approx(best.val_accuracy)
    assert meta["best_epoch"] == result.best_epoch == best.epoch


def test_training_is_reproducible_with_a_seed(tmp_path: Path) -> None:
    config = TrainConfig(
        method="protonet", n_way=3, k_shot=1, n_query=2, episodes=6, epoch_episodes=6,
        val_way=3, val_episodes=3, rotations=True, device="cpu", seed=7,
        method_options={"hidden": 8},
    )  # fmt: skip
    first = train(config, separable_set(), separable_set(seed=1), tmp_path / "a.pt")
    second = train(config, separable_set(), separable_set(seed=1), tmp_path / "b.pt")
    for key, value in first.model.state_dict().items():
        assert torch.equal(value, second.model.state_dict()[key])


def test_device_selection_prefers_cuda_then_mps_then_cpu() -> None:
    assert select_device("cpu").type == "cpu"
    if torch.cuda.is_available():
        assert select_device("auto").type == "cuda"
    else:
        assert select_device("auto").type in {"mps", "cpu"}
        with pytest.raises(MetaRecError, match="no CUDA"):
            select_device("cuda")


def test_confidence_interval_shrinks_with_more_episodes() -> None:
    mean, ci_small = mean_ci95([0.0, 1.0] * 5)
    _, ci_large = mean_ci95([0.0, 1.0] * 500)
    assert mean == 0.5 and ci_large < ci_small


@pytest.mark.parametrize("method", ["protonet", "matching", "siamese"])
def test_cached_embeddings_score_the_same_episodes_identically(method: str) -> None:
    torch.manual_seed(0)
    model = build_method(method, **TINY)
    data = separable_set(seed=3)
    cached = evaluate(model, data, 3, 1, 2, episodes=10, cache_embeddings=True)
    direct = evaluate(model, data, 3, 1, 2, episodes=10, cache_embeddings=False)
    assert cached.mean == pytest.approx(direct.mean)


def test_views_average_seeded_distortions_of_each_image() -> None:
    torch.manual_seed(0)
    model = build_method("protonet", **TINY).eval()
    images = separable_set(seed=4).images[0]
    with torch.no_grad():
        one = embed_views(model, images, views=1)
        assert torch.equal(one, model.backbone(images))
        eight = embed_views(model, images, views=8, seed=5)
        assert torch.equal(eight, embed_views(model, images, views=8, seed=5))
        assert not torch.allclose(eight, one)
        assert not torch.allclose(eight, embed_views(model, images, views=8, seed=6))


def test_views_are_refused_where_they_do_not_apply() -> None:
    data = separable_set(seed=3)
    maml = build_method("maml", **TINY)
    with pytest.raises(DataError, match="metric methods"):
        evaluate(maml, data, 3, 1, 2, episodes=2, views=4)
    with pytest.raises(DataError, match="at least 1"):
        evaluate(build_method("protonet", **TINY), data, 3, 1, 2, episodes=2, views=0)


def test_evaluation_with_views_scores_the_same_episodes() -> None:
    torch.manual_seed(0)
    model = build_method("protonet", **TINY)
    data = separable_set(seed=3)
    result = evaluate(model, data, 3, 1, 2, episodes=10, views=4)
    again = evaluate(model, data, 3, 1, 2, episodes=10, views=4)
    assert result == again and 0.0 <= result.mean <= 1.0 and result.episodes == 10


def test_transductive_refinement_recovers_a_query_nearer_the_wrong_shot() -> None:
    from metarec.fewshot.methods.protonet import ProtoNet

    model = build_method("protonet", **TINY)
    assert isinstance(model, ProtoNet)
    # One atypical shot per class; the queries cluster around the true centres (0, 1) and (0, 3).
    support = torch.tensor([[0.0, 1.4], [0.0, 2.0]])
    labels = torch.tensor([0, 1])
    query = torch.tensor([[0.0, 0.6], [0.0, 0.8], [0.0, 1.75], [0.0, 3.0], [0.0, 3.2], [0.0, 2.8]])
    truth = torch.tensor([0, 0, 0, 1, 1, 1])
    inductive = model.scores(support, labels, query, 2).argmax(1)
    assert inductive[2] == 1  # nearer the other class's single shot
    for steps in (1, 5, 20):
        refined = model.transductive_scores(support, labels, query, 2, steps=steps).argmax(1)
        assert torch.equal(refined, truth), steps


def test_transductive_evaluation_is_opt_in_and_protonet_only() -> None:
    torch.manual_seed(0)
    model = build_method("protonet", **TINY)
    data = separable_set(seed=3)
    plain = evaluate(model, data, 3, 1, 2, episodes=10)
    assert evaluate(model, data, 3, 1, 2, episodes=10, transductive=False) == plain
    refined = evaluate(model, data, 3, 1, 2, episodes=10, transductive=True)
    assert refined.episodes == 10 and 0.0 <= refined.mean <= 1.0
    with pytest.raises(DataError, match="only a protonet model has"):
        evaluate(build_method("matching", **TINY), data, 3, 1, 2, episodes=2, transductive=True)


def test_auto_device_picks_cuda_then_mps_then_cpu(monkeypatch: pytest.MonkeyPatch) -> None:
    import metarec.fewshot.device as device

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(device, "_mps_available", lambda: True)
    assert select_device("auto") == torch.device("cuda")
    assert select_device("cuda:1") == torch.device("cuda:1")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert select_device("auto") == torch.device("mps")
    monkeypatch.setattr(device, "_mps_available", lambda: False)
    assert select_device("auto") == torch.device("cpu")
    with pytest.raises(MetaRecError, match="`device='cuda'` was requested but no CUDA") as info:
        select_device("cuda")
    assert info.value.parameters == ("device",)
    with pytest.raises(MetaRecError, match="unknown device 'tpu'"):
        select_device("tpu")


def test_mixed_precision_only_on_cuda(monkeypatch: pytest.MonkeyPatch) -> None:
    from metarec.fewshot.device import amp_dtype, autocast

    assert amp_dtype(torch.device("cpu")) is None
    assert amp_dtype(torch.device("mps")) is None
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda: True)
    assert amp_dtype(torch.device("cuda")) == torch.bfloat16
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda: False)
    assert amp_dtype(torch.device("cuda")) == torch.float16
    with autocast(torch.device("cpu"), None):
        assert not torch.is_autocast_enabled("cpu")


@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
def test_the_mixed_precision_training_path_runs_on_the_cpu(
    dtype: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """CUDA's code path (autocast, and loss scaling for float16) exercised on the CPU, which
    supports both precisions: no GPU is needed to catch a dtype error in the training loop."""
    import metarec.fewshot.train as training

    moved: list[torch.device] = []
    casts: list[torch.dtype | None] = []
    real_move, real_autocast = training.episode_to, training.autocast

    def move(episode, device):
        moved.append(device)
        return real_move(episode, device)

    def cast(device, amp):
        casts.append(amp)
        return real_autocast(device, amp)

    monkeypatch.setattr(training, "episode_to", move)
    monkeypatch.setattr(training, "autocast", cast)
    monkeypatch.setattr(training, "amp_dtype", lambda _device: getattr(torch, dtype))
    config = TrainConfig(
        method="protonet", n_way=3, k_shot=1, n_query=2, episodes=4, epoch_episodes=2,
        val_way=3, val_episodes=2, rotations=False, device="cpu", method_options={"hidden": 8},
    )  # fmt: skip
    result = train(config, separable_set(), separable_set(seed=1), tmp_path / "amp.pt")
    assert moved and set(moved) == {torch.device("cpu")}
    assert casts and set(casts) == {getattr(torch, dtype)}
    assert all(record.train_loss == record.train_loss for record in result.history)  # not NaN
    model, _ = load_checkpoint(tmp_path / "amp.pt")
    # Weights stay float32 under autocast: the checkpoint loads anywhere.
    assert all(p.dtype == torch.float32 for p in model.parameters())
