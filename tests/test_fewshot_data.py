"""Few-shot data: image sources, zip safety, the episodic sampler and class/alphabet splits."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pytest

from metarec.errors import DataError
from metarec.fewshot import is_image_folder
from metarec.fewshot.sources import ImageSource, safe_member_name

SHARED_DATA = Path(__file__).parents[2] / "shared" / "data"
OMNIGLOT = SHARED_DATA / "images" / "omniglot"
HELD_OUT_ALPHABETS = {"Japanese_(katakana)", "Sanskrit", "Tagalog"}


def png_bytes(pixels: np.ndarray) -> bytes:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(pixels.astype(np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


def glyph(class_index: int, size: int = 12, seed: int = 0) -> np.ndarray:
    """A dark square on white whose position encodes the class, plus a little noise."""
    rng = np.random.default_rng(seed)
    pixels = np.full((size, size), 255.0)
    row, col = divmod(class_index, 3)
    pixels[row * 4 : row * 4 + 4, col * 4 : col * 4 + 4] = 0
    return np.clip(pixels - rng.uniform(0, 30, pixels.shape), 0, 255)


def write_class_folder(root: Path, classes: int = 4, per_class: int = 6, size: int = 12) -> Path:
    for c in range(classes):
        folder = root / f"class{c}"
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            (folder / f"{i}.png").write_bytes(png_bytes(glyph(c, size, seed=i)))
    return root


@pytest.fixture
def class_folder(tmp_path: Path) -> Path:
    return write_class_folder(tmp_path / "data")


def test_image_folder_is_recognised_without_torch(class_folder: Path, tmp_path: Path) -> None:
    assert is_image_folder(class_folder)
    table = tmp_path / "table.csv"
    table.write_text("a,b\n1,2\n")
    assert not is_image_folder(table)
    assert not is_image_folder(tmp_path / "missing")
    mixed = write_class_folder(tmp_path / "mixed", classes=2)
    (mixed / "class0" / "notes.csv").write_text("x\n")
    assert not is_image_folder(mixed)


def test_zip_of_classes_is_recognised_and_read(class_folder: Path, tmp_path: Path) -> None:
    archive = tmp_path / "data.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for file in class_folder.rglob("*.png"):
            zf.write(file, f"wrapper/{file.relative_to(class_folder).as_posix()}")
    assert is_image_folder(archive)
    from metarec.fewshot.data import load_image_set

    data = load_image_set(archive, image_size=8)
    # The single top-level folder is a wrapper, not a class.
    assert data.class_names == ["class0", "class1", "class2", "class3"]
    assert data.images[0].shape == (6, 1, 8, 8)


@pytest.mark.parametrize("member", ["../evil.png", "a/../../evil.png", "/abs/evil.png", "C:/x.png"])
def test_zip_with_escaping_paths_is_refused(tmp_path: Path, member: str) -> None:
    archive = tmp_path / "bad.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("ok/class/a.png", png_bytes(glyph(0)))
        zf.writestr(member, png_bytes(glyph(1)))
    with pytest.raises(DataError, match="unsafe path"):
        ImageSource(archive)
    assert not (tmp_path.parent / "evil.png").exists()


def test_safe_member_names_pass() -> None:
    assert safe_member_name("alphabet/char/01.png").parts == ("alphabet", "char", "01.png")


def test_images_are_normalised_to_strokes_on_black(class_folder: Path) -> None:
    with ImageSource(class_folder) as source:
        ref = source.list_images()[0]
        pixels, original = source.decode(ref, 12)
    assert original == (12, 12)
    # Dark-on-white input is inverted: the border (background) becomes dark.
    assert pixels[0].mean() < 0.5 and pixels.max() > 0.8


def test_omniglot_layout_gives_alphabets_as_groups(tmp_path: Path) -> None:
    for alphabet in ("Greek", "Latin"):
        write_class_folder(tmp_path / "root" / alphabet, classes=2)
    from metarec.fewshot.data import load_image_set

    data = load_image_set(tmp_path / "root", image_size=8)
    assert data.group_names() == ["Greek", "Latin"]
    assert data.class_names[0] == "Greek/class0"


def test_several_sources_read_as_one_pool_shared_classes(tmp_path: Path) -> None:
    from metarec.fewshot.data import load_image_sets

    first, second = tmp_path / "first", tmp_path / "second"
    write_class_folder(first / "Greek", classes=2, per_class=3)
    write_class_folder(first / "Korean", classes=1, per_class=3)
    # Greek again, image for image, plus one new drawing of class0; and a new alphabet.
    write_class_folder(second / "Greek", classes=2, per_class=3)
    (second / "Greek" / "class0" / "new.png").write_bytes(png_bytes(glyph(0, seed=99)))
    write_class_folder(second / "Tagalog", classes=2, per_class=3)
    data = load_image_sets([first, second], image_size=12)
    assert data.class_names == [
        "Greek/class0", "Greek/class1", "Korean/class0", "Tagalog/class0", "Tagalog/class1"
    ]  # fmt: skip
    assert [len(x) for x in data.images] == [4, 3, 3, 3, 3]
    assert data.group_names() == ["Greek", "Korean", "Tagalog"]
    assert load_image_sets([first], image_size=12).n_classes == 3
    with pytest.raises(DataError, match="at least one"):
        load_image_sets([], image_size=12)


def make_set(classes: int = 6, per_class: int = 8, groups: int = 1):
    import torch

    from metarec.fewshot.data import ImageSet

    # Each image holds its class and index in its pixels so the test can trace it.
    images = [
        torch.stack([torch.full((1, 4, 4), float(c * 100 + i)) for i in range(per_class)])
        for c in range(classes)
    ]
    return ImageSet(
        images, [f"c{c}" for c in range(classes)], [f"g{c % groups}" for c in range(classes)]
    )


def test_sampler_builds_disjoint_labelled_episodes() -> None:
    import torch

    from metarec.fewshot.data import EpisodeSampler

    sampler = EpisodeSampler(make_set(), n_way=3, k_shot=2, n_query=4, seed=1)
    for _ in range(20):
        episode = sampler.sample()
        assert episode.support.shape == (6, 1, 4, 4) and episode.query.shape == (12, 1, 4, 4)
        assert episode.support_labels.tolist() == [0, 0, 1, 1, 2, 2]
        assert episode.query_labels.tolist() == [c for c in range(3) for _ in range(4)]
        ids = [int(x[0, 0, 0]) for x in torch.cat([episode.support, episode.query])]
        labels = episode.support_labels.tolist() + episode.query_labels.tolist()
        assert len(set(ids)) == len(ids), "an image appeared twice in one episode"
        pairs = list(zip(ids, labels, strict=True))
        source_class = {label: {i // 100 for i, lab in pairs if lab == label} for label in range(3)}
        assert all(len(classes) == 1 for classes in source_class.values())
        assert len(set.union(*source_class.values())) == 3, "two labels share a class"


def test_sampler_is_reproducible_and_rotations_add_classes() -> None:
    import torch

    from metarec.fewshot.data import EpisodeSampler

    data = make_set(classes=2)
    a = EpisodeSampler(data, 2, 1, 1, seed=3).sample()
    b = EpisodeSampler(data, 2, 1, 1, seed=3).sample()
    assert torch.equal(a.support, b.support) and torch.equal(a.query, b.query)
    # Two classes become eight with rotations, so an 8-way episode is possible.
    rotated = EpisodeSampler(data, 8, 1, 1, rotations=True, seed=0)
    assert len(rotated.classes) == 8
    assert rotated.sample().support.shape[0] == 8


def test_mirrors_add_mirrored_classes() -> None:
    import torch

    from metarec.fewshot.data import EpisodeSampler

    data = make_set(classes=2)
    # Each class and each of its rotations also appears mirrored: 2 x 4 x 2 classes.
    sampler = EpisodeSampler(data, 16, 1, 1, rotations=True, mirrors=True, seed=0)
    assert len(sampler.classes) == 16
    assert len(EpisodeSampler(data, 2, 1, 1, mirrors=True, seed=0).classes) == 4
    # A mirrored class's images are its source images flipped left-right.
    asym = make_set(classes=2)
    for images in asym.images:
        images[:, :, :, 0] = -1.0
    only_mirrored = EpisodeSampler(asym, 2, 1, 1, mirrors=True, seed=0)
    only_mirrored.classes = [(0, 0, 1), (1, 0, 1)]
    episode = only_mirrored.sample()
    shown = torch.cat([episode.support, episode.query])
    assert (shown[:, :, :, -1] == -1.0).all() and (shown[:, :, :, 0] != -1.0).all()


def test_augmentation_distorts_images_but_keeps_episodes() -> None:
    import torch

    from metarec.fewshot.data import EpisodeSampler, ImageSet

    square = torch.zeros(10, 1, 16, 16)
    square[:, :, 4:12, 4:12] = 1.0
    data = ImageSet([square, square.flip(2)], ["a", "b"], ["", ""])
    plain = EpisodeSampler(data, 2, 2, 3, seed=0).sample()
    distorted = EpisodeSampler(data, 2, 2, 3, seed=0, augment=True).sample()
    assert distorted.support.shape == plain.support.shape
    assert torch.equal(distorted.query_labels, plain.query_labels)
    assert not torch.allclose(distorted.support, plain.support)
    # Small distortions: most of the stroke mass stays in the picture.
    assert distorted.support.sum() > 0.7 * plain.support.sum()


def test_sampler_rejects_impossible_episodes() -> None:
    from metarec.fewshot.data import EpisodeSampler

    with pytest.raises(DataError, match="need 7 classes"):
        EpisodeSampler(make_set(classes=6), 7, 1, 1)
    with pytest.raises(DataError, match="fewer than 9 images"):
        EpisodeSampler(make_set(per_class=8), 2, 4, 5)


def test_alphabet_split_keeps_alphabets_whole() -> None:
    from metarec.fewshot.data import split_by_groups, validation_split

    data = make_set(classes=12, groups=4)
    train, val, how = validation_split(data, 0.25, seed=0)
    assert "alphabets" in how
    assert not set(train.groups) & set(val.groups)
    assert train.n_classes + val.n_classes == 12
    rest, held = split_by_groups(data, ["g1"])
    assert set(held.groups) == {"g1"} and "g1" not in rest.groups
    with pytest.raises(DataError, match="unknown alphabet"):
        split_by_groups(data, ["Klingon"])


def test_class_split_without_alphabets_is_disjoint() -> None:
    from metarec.fewshot.data import validation_split

    data = make_set(classes=10)
    train, val, how = validation_split(data, 0.3, seed=0)
    assert "random classes" in how and val.n_classes == 3
    assert not set(train.class_names) & set(val.class_names)


def test_character_split_holds_out_part_of_every_alphabet() -> None:
    from metarec.fewshot.data import validation_split

    data = make_set(classes=40, groups=4)  # 10 classes in each of 4 alphabets
    train, val, how = validation_split(data, 0.15, seed=0, by="characters")
    assert "characters held out" in how
    assert not set(train.class_names) & set(val.class_names)
    assert train.n_classes + val.n_classes == 40
    # round(0.15 * 10) = 2 of each alphabet's 10 classes, so every alphabet is trained on too.
    assert all(val.groups.count(g) == 2 for g in ("g0", "g1", "g2", "g3"))
    assert set(train.groups) == {"g0", "g1", "g2", "g3"}
    again = validation_split(data, 0.15, seed=0, by="characters")[1]
    other = validation_split(data, 0.15, seed=1, by="characters")[1]
    assert again.class_names == val.class_names and other.class_names != val.class_names
    with pytest.raises(DataError, match="between 0 and 1"):
        validation_split(data, 1.0, seed=0, by="characters")


@pytest.mark.shared_data
@pytest.mark.skipif(not OMNIGLOT.exists(), reason=f"needs the Omniglot zips in {OMNIGLOT}")
def test_omniglot_zips_hold_the_expected_alphabets() -> None:
    from metarec.fewshot.sources import ImageSource

    with ImageSource(OMNIGLOT / "images_background_small1.zip") as source:
        small1 = {ref.group_key for ref in source.list_images()}
    with ImageSource(OMNIGLOT / "images_background_small2.zip") as source:
        small2 = {ref.group_key for ref in source.list_images()}
    assert small2 - small1 == HELD_OUT_ALPHABETS
    assert len(small1) == 5


@pytest.mark.shared_data
@pytest.mark.skipif(not OMNIGLOT.exists(), reason=f"needs the Omniglot zips in {OMNIGLOT}")
def test_both_omniglot_zips_read_as_eight_alphabets_without_duplicates() -> None:
    from metarec.fewshot.data import load_image_sets

    zips = [OMNIGLOT / "images_background_small1.zip", OMNIGLOT / "images_background_small2.zip"]
    data = load_image_sets(zips, image_size=8)
    # Latin and Greek are in both zips, image for image: they count once.
    assert len(data.group_names()) == 8 and data.n_classes == 242
    assert all(len(images) == 20 for images in data.images)


def test_keeping_freed_memory_applies_on_glibc_and_is_harmless() -> None:
    import platform
    import sys

    import torch

    from metarec.fewshot.device import keep_freed_memory

    applied = keep_freed_memory()
    assert isinstance(applied, bool)
    if sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc":
        assert applied
    # Large buffers are still allocated, freed and reused correctly afterwards.
    for _ in range(3):
        assert float(torch.ones(8 * 2**20).sum()) == 8 * 2**20
