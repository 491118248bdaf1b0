"""Labelled image sets in memory, clean class/alphabet splits, and the episodic sampler."""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from metarec.errors import DataError
from metarec.fewshot.sources import ImageRef, ImageSource

DEFAULT_IMAGE_SIZE = 28


@dataclass
class ImageSet:
    """Images grouped by class: ``images[c]`` is a (n_c, 1, H, W) float tensor of class ``c``."""

    images: list[torch.Tensor]
    class_names: list[str]
    groups: list[str]

    @property
    def n_classes(self) -> int:
        return len(self.images)

    def subset(self, indices: Sequence[int]) -> ImageSet:
        return ImageSet(
            [self.images[i] for i in indices],
            [self.class_names[i] for i in indices],
            [self.groups[i] for i in indices],
        )

    def group_names(self) -> list[str]:
        return sorted(set(self.groups))


def _decode_all(
    source: ImageSource, refs: list[ImageRef], size: int, mixed_sizes: bool
) -> list[np.ndarray]:
    arrays, first = [], None
    for ref in refs:
        pixels, original = source.decode(ref, size)
        if first is None:
            first = (ref, original)
        elif original != first[1] and not mixed_sizes:
            raise DataError(
                f"images have mismatched sizes ({first[1][0]}x{first[1][1]} in "
                f"{_shown(first[0])}, {original[0]}x{original[1]} in {_shown(ref)}); give all "
                "images one size or pass `mixed_sizes=True` to resize each on its own",
                parameters=("mixed_sizes",),
            )
        arrays.append(pixels)
    return arrays


def _shown(ref: ImageRef) -> str:
    return f"{ref.class_key}/{ref.name}" if ref.class_key else ref.name


def load_image_set(
    path: str | Path,
    image_size: int = DEFAULT_IMAGE_SIZE,
    min_classes: int = 2,
    min_per_class: int = 1,
    mixed_sizes: bool = False,
) -> ImageSet:
    """Read every image of a class-folder dataset (folder or zip) into memory."""
    with ImageSource(path) as source:
        refs = source.list_images()
        arrays = _decode_all(source, refs, image_size, mixed_sizes)
    by_class: dict[str, list[np.ndarray]] = {}
    group_of: dict[str, str] = {}
    for ref, pixels in zip(refs, arrays, strict=True):
        by_class.setdefault(ref.class_key, []).append(pixels)
        group_of[ref.class_key] = ref.group_key
    _check_empty_class_folders(Path(path), set(by_class))
    _check_counts(by_class, f"{path} has", str(path), min_classes, min_per_class)
    keys = sorted(by_class)
    images = [torch.from_numpy(np.stack(by_class[k]))[:, None] for k in keys]
    return ImageSet(images, keys, [group_of[k] for k in keys])


def _check_counts(by_class: dict[str, list[Any]], holder: str, where: str, min_classes: int,
                  min_per_class: int, together: str = "") -> None:
    """Refuse too few classes, or a class with too few images (``holder``: "X has")."""
    if len(by_class) < min_classes:
        raise DataError(
            f"{holder} {len(by_class)} class folder(s){together}; few-shot learning needs at "
            f"least {min_classes} classes, one sub-folder each"
        )
    small = [k for k, v in by_class.items() if len(v) < min_per_class]
    if small:
        raise DataError(
            f"class {small[0]!r} in {where} has fewer than {min_per_class} images, too few for "
            "the requested shots and queries"
        )


def load_image_sets(
    paths: Sequence[str | Path],
    image_size: int = DEFAULT_IMAGE_SIZE,
    min_classes: int = 2,
    min_per_class: int = 1,
    mixed_sizes: bool = False,
) -> ImageSet:
    """Read several class-folder datasets (folders or zips) as one.

    A class key (``alphabet/character``) found in more than one source is one class: its images
    are pooled and exact duplicates kept once. Omniglot's two small background sets both hold
    Latin and Greek, image for image; read naively they would give every such character twice,
    as two classes that episodes would ask the network to tell apart.
    """
    if not paths:
        raise DataError("no dataset was given; pass at least one folder or zip")
    if len(paths) == 1:
        return load_image_set(paths[0], image_size, min_classes, min_per_class, mixed_sizes)
    by_class: dict[str, list[torch.Tensor]] = {}
    seen: dict[str, set[bytes]] = {}
    group_of: dict[str, str] = {}
    for path in paths:
        part = load_image_set(path, image_size, 1, 1, mixed_sizes)
        for images, key, group in zip(part.images, part.class_names, part.groups, strict=True):
            kept, hashes = by_class.setdefault(key, []), seen.setdefault(key, set())
            group_of[key] = group
            for image in images:
                digest = image.numpy().tobytes()
                if digest not in hashes:
                    hashes.add(digest)
                    kept.append(image)
    shown = ", ".join(str(p) for p in paths)
    _check_counts(by_class, f"{shown} hold", shown, min_classes, min_per_class, " together")
    keys = sorted(by_class)
    return ImageSet(
        [torch.stack(by_class[k]) for k in keys], keys, [group_of[k] for k in keys]
    )


def _check_empty_class_folders(path: Path, found: set[str]) -> None:
    """A class folder without images is almost always a mistake; say so instead of skipping it."""
    if not path.is_dir():
        return
    depth = {key.count("/") for key in found}
    for sub in sorted(path.iterdir()):
        if sub.is_dir() and not sub.name.startswith(".") and depth == {0} and sub.name not in found:
            raise DataError(f"class folder {sub.name!r} in {path} contains no images")


def load_query_images(
    path: str | Path, image_size: int = DEFAULT_IMAGE_SIZE, mixed_sizes: bool = False
) -> tuple[list[str], torch.Tensor]:
    """Read every image under ``path`` (a folder or zip); return their names and a tensor."""
    with ImageSource(path) as source:
        refs = source.list_flat_images()
        arrays = _decode_all(source, refs, image_size, mixed_sizes)
    return [r.name for r in refs], torch.from_numpy(np.stack(arrays))[:, None]


def split_by_groups(data: ImageSet, held_out: Sequence[str]) -> tuple[ImageSet, ImageSet]:
    """Split into (classes outside ``held_out`` groups, classes inside them)."""
    unknown = set(held_out) - set(data.groups)
    if unknown:
        raise DataError(
            f"unknown alphabet/group {sorted(unknown)[0]!r}; known: {', '.join(data.group_names())}"
        )
    inside = [i for i, g in enumerate(data.groups) if g in held_out]
    outside = [i for i, g in enumerate(data.groups) if g not in held_out]
    return data.subset(outside), data.subset(inside)


def validation_split(
    data: ImageSet, fraction: float, seed: int, by: str = "auto"
) -> tuple[ImageSet, ImageSet, str]:
    """Hold out about ``fraction`` of the classes for validation; return (train, val, how).

    With three or more groups (alphabets) whole groups are held out, so validation measures
    transfer to unseen alphabets like the test does; otherwise classes are split at random.
    ``by="characters"`` holds out about ``fraction`` of every group's classes instead (at least
    one each), so that every alphabet also contributes training classes.
    """
    rng = random.Random(seed)
    groups = data.group_names()
    if by == "characters":
        return _split_within_groups(data, fraction, rng, groups)
    if by == "alphabets" or (by == "auto" and len(groups) >= 3):
        if len(groups) < 2:
            raise DataError("splitting by alphabet needs at least two alphabets (group folders)")
        size = {g: data.groups.count(g) for g in groups}
        target = max(1, round(fraction * data.n_classes))
        # Shuffle first so that the stable sort breaks ties by seed, then prefer the alphabets
        # whose size is closest to the target, so validation is neither tiny nor greedy.
        rng.shuffle(groups)
        groups.sort(key=lambda g: abs(size[g] - target))
        chosen: list[str] = []
        for group in groups[:-1]:
            chosen.append(group)
            if sum(size[g] for g in chosen) >= target:
                break
        train, val = split_by_groups(data, chosen)
        return train, val, f"alphabets held out for validation: {', '.join(sorted(chosen))}"
    order = list(range(data.n_classes))
    rng.shuffle(order)
    n_val = max(2, round(fraction * data.n_classes))
    if data.n_classes - n_val < 2:
        raise DataError(f"{data.n_classes} classes are too few to hold some out for validation")
    return (
        data.subset(sorted(order[n_val:])),
        data.subset(sorted(order[:n_val])),
        f"{n_val} random classes held out for validation",
    )


def _split_within_groups(
    data: ImageSet, fraction: float, rng: random.Random, groups: list[str]
) -> tuple[ImageSet, ImageSet, str]:
    # Per group rather than over all classes at once: a plain random draw can take most of a
    # small alphabet's characters, and then that alphabet is barely trained on.
    if not 0 < fraction < 1:
        raise DataError(f"`fraction` must be between 0 and 1, not {fraction}",
                        parameters=("fraction",))
    held: list[int] = []
    for group in groups:
        members = [i for i, g in enumerate(data.groups) if g == group]
        if len(members) < 2:
            raise DataError(
                f"alphabet {group!r} has {len(members)} class(es); holding out characters "
                "needs at least 2 in every alphabet"
            )
        rng.shuffle(members)
        n_val = min(len(members) - 1, max(1, round(fraction * len(members))))
        held.extend(members[:n_val])
    if len(held) < 2:
        raise DataError(f"{data.n_classes} classes are too few to hold some out for validation")
    chosen = set(held)
    train = [i for i in range(data.n_classes) if i not in chosen]
    return (
        data.subset(train),
        data.subset(sorted(chosen)),
        f"{len(held)} characters held out for validation, about {fraction:.0%} of each of "
        f"{len(groups)} alphabet(s)",
    )


@dataclass
class Episode:
    support: torch.Tensor  # (n_way * k_shot, 1, H, W)
    support_labels: torch.Tensor  # (n_way * k_shot,)
    query: torch.Tensor  # (n_way * n_query, 1, H, W)
    query_labels: torch.Tensor  # (n_way * n_query,)
    n_way: int


class EpisodeSampler:
    """N-way K-shot episodes with Q queries per class from an :class:`ImageSet`.

    With ``rotations`` every class also appears rotated by 90, 180 and 270 degrees as three new
    classes (the standard Omniglot augmentation); a class and its rotations are distinct classes
    and may meet in one episode. With ``mirrors`` every class (and rotation) also appears
    mirrored left-right as one more class: a mirrored character is a plausible character of its
    own, which doubles the training classes again. With ``augment`` every image gets its own
    small random affine distortion (shift, rotation, scale, shear), as a different drawer
    would; its class stays.
    """

    def __init__(
        self,
        data: ImageSet,
        n_way: int,
        k_shot: int,
        n_query: int,
        rotations: bool = False,
        seed: int | None = None,
        augment: bool = False,
        mirrors: bool = False,
    ) -> None:
        turns, sides = range(4 if rotations else 1), range(2 if mirrors else 1)
        variants = [(r, m) for r in turns for m in sides]
        n_classes = data.n_classes * len(variants)
        if n_way < 2:
            raise DataError("an episode needs at least 2 ways (classes)")
        if k_shot < 1 or n_query < 1:
            raise DataError("shots and queries must be at least 1")
        if n_classes < n_way:
            raise DataError(
                f"{n_way}-way episodes need {n_way} classes but the data has {n_classes}"
            )
        need = k_shot + n_query
        short = [n for n, x in zip(data.class_names, data.images, strict=True) if len(x) < need]
        if short:
            raise DataError(
                f"class {short[0]!r} has fewer than {need} images, needed for {k_shot} shot(s) "
                f"plus {n_query} queries"
            )
        self.data, self.n_way, self.k_shot, self.n_query = data, n_way, k_shot, n_query
        self.classes = [(c, r, m) for c in range(data.n_classes) for r, m in variants]
        self.rng = random.Random(seed)
        self.augment = augment
        self.generator = torch.Generator().manual_seed(seed if seed is not None else 0)

    def sample(self) -> Episode:
        chosen = self.rng.sample(self.classes, self.n_way)
        support, query = [], []
        for class_index, rotation, mirrored in chosen:
            pool = self.data.images[class_index]
            picked = pool[self.rng.sample(range(len(pool)), self.k_shot + self.n_query)]
            if mirrored:
                picked = torch.flip(picked, dims=(3,))
            if rotation:
                picked = torch.rot90(picked, rotation, dims=(2, 3))
            support.append(picked[: self.k_shot])
            query.append(picked[self.k_shot :])
        labels = torch.arange(self.n_way)
        support_images = torch.cat(support)
        query_images = torch.cat(query)
        if self.augment:
            support_images = random_affine(support_images, self.generator)
            query_images = random_affine(query_images, self.generator)
        return Episode(
            support_images,
            labels.repeat_interleave(self.k_shot),
            query_images,
            labels.repeat_interleave(self.n_query),
            self.n_way,
        )

    def __iter__(self) -> Iterator[Episode]:
        while True:
            yield self.sample()


def random_affine(
    images: torch.Tensor,
    generator: torch.Generator,
    shift: float = 0.1,
    degrees: float = 10.0,
    scale: float = 0.1,
    shear: float = 0.1,
) -> torch.Tensor:
    """Distort each image of a (B, C, H, W) batch by its own random affine map.

    Training-time only: with a few hundred training characters the network otherwise learns
    the drawers' exact strokes; small distortions make it learn the characters instead.
    """
    n = len(images)

    def uniform(bound: float) -> torch.Tensor:
        return (torch.rand(n, generator=generator) * 2 - 1) * bound

    angle = uniform(degrees) * torch.pi / 180
    zoom = 1 + uniform(scale)
    skew = uniform(shear)
    cos, sin = torch.cos(angle) / zoom, torch.sin(angle) / zoom
    theta = torch.stack(
        [
            torch.stack([cos, -sin + skew, uniform(shift) * 2], 1),
            torch.stack([sin, cos, uniform(shift) * 2], 1),
        ],
        1,
    )
    grid = torch.nn.functional.affine_grid(theta, list(images.shape), align_corners=False)
    return torch.nn.functional.grid_sample(images, grid, align_corners=False, padding_mode="zeros")
