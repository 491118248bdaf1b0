"""Find and decode labelled images in a folder or a zip archive, without importing torch.

Layouts: ``root/class/*.png`` and Omniglot's ``alphabet/character/*.png`` (optionally under one
top-level folder). The class of an image is the folder that holds it; the folder above that, when
there is one, is its group (the alphabet, for Omniglot), used to split classes cleanly.

Zip archives are read in memory, never extracted, and any member whose name could escape the
archive root (absolute, ``..``, drive letters) makes the whole archive unusable: a crafted archive
should be refused, not half-read.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import numpy as np

from metarec.errors import DataError

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp"})
# Files that operating systems drop into folders; they are not the user's data.
IGNORED_NAMES = frozenset({"thumbs.db", "desktop.ini"})
# Decompressed size above which a zip member is refused (zip bombs); Omniglot members are ~1 KB.
MAX_MEMBER_BYTES = 64 * 1024 * 1024
MAX_PIXELS = 64 * 1024 * 1024


@dataclass(frozen=True)
class ImageRef:
    """One image: where it is, and its class and group keys (relative folder paths)."""

    location: str
    class_key: str
    group_key: str
    name: str


def _ignored(part: str) -> bool:
    return part.startswith(".") or part.lower() in IGNORED_NAMES or part == "__MACOSX"


def _is_image_name(name: str) -> bool:
    return PurePosixPath(name).suffix.lower() in IMAGE_SUFFIXES


def is_image_folder(path: str | Path, max_entries: int = 2000) -> bool:
    """Cheaply tell whether ``path`` looks like a few-shot image dataset (folder or zip).

    True when it holds image files inside class sub-folders and no other data files; looks at
    no more than ``max_entries`` directory entries and decodes nothing.
    """
    path = Path(path)
    try:
        if path.is_file() and path.suffix.lower() == ".zip":
            with zipfile.ZipFile(path) as archive:
                names = [n for n in archive.namelist()[:max_entries] if not n.endswith("/")]
            images = [n for n in names if _is_image_name(n) and "/" in n.strip("/")]
            return bool(images) and len(images) >= 0.9 * len(names)
        if not path.is_dir():
            return False
        seen = images = 0
        for sub in path.iterdir():
            if _ignored(sub.name):
                continue
            if not sub.is_dir():
                return False  # loose files at the top: a table or a flat folder, not classes
            for entry in sub.rglob("*"):
                seen += 1
                if entry.is_file() and not _ignored(entry.name):
                    if not _is_image_name(entry.name):
                        return False
                    images += 1
                if seen >= max_entries:
                    return images > 0
        return images > 0
    except (OSError, zipfile.BadZipFile):
        return False


def safe_member_name(name: str) -> PurePosixPath:
    """Return the member's path, or raise DataError if it could escape the archive root."""
    normalized = name.replace("\\", "/")
    pure = PurePosixPath(normalized)
    if (
        normalized.startswith("/")
        or ".." in pure.parts
        or (pure.parts and ":" in pure.parts[0])
        or "\x00" in normalized
    ):
        raise DataError(
            f"the zip archive contains the unsafe path {name!r} (absolute or with '..'); "
            "refusing to read it"
        )
    return pure


class ImageSource:
    """Images of a dataset folder or zip archive, listed by class, decoded on demand."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if not self.path.exists():
            raise DataError(f"{self.path} does not exist")
        self._archive: zipfile.ZipFile | None = None
        if self.path.is_file():
            if not zipfile.is_zipfile(self.path):
                raise DataError(
                    f"{self.path} is neither a folder of class sub-folders nor a zip archive"
                )
            try:
                self._archive = zipfile.ZipFile(self.path)
                self._check_archive(self._archive)
            except zipfile.BadZipFile as exc:
                raise DataError(f"{self.path} is a damaged zip archive ({exc})") from None

    def close(self) -> None:
        if self._archive is not None:
            self._archive.close()

    def __enter__(self) -> ImageSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @staticmethod
    def _check_archive(archive: zipfile.ZipFile) -> None:
        for info in archive.infolist():
            safe_member_name(info.filename)
            if info.file_size > MAX_MEMBER_BYTES:
                raise DataError(
                    f"the zip member {info.filename!r} would decompress to {info.file_size} bytes, "
                    "more than any image should; refusing to read it"
                )

    def _files(self) -> Iterator[tuple[str, PurePosixPath]]:
        """Yield (location, path relative to the root) of every non-ignored file."""
        if self._archive is not None:
            for info in self._archive.infolist():
                if info.is_dir():
                    continue
                rel = safe_member_name(info.filename)
                if not any(_ignored(p) for p in rel.parts):
                    yield info.filename, rel
            return
        for file in sorted(self.path.rglob("*")):
            rel = PurePosixPath(file.relative_to(self.path).as_posix())
            if file.is_file() and not any(_ignored(p) for p in rel.parts):
                yield str(file), rel

    def list_images(self) -> list[ImageRef]:
        """List images with class keys; raise DataError on files that are not images."""
        entries = sorted(self._files(), key=lambda item: item[1].as_posix())
        if not entries:
            raise DataError(f"{self.path} contains no images")
        for _, rel in entries:
            if not _is_image_name(rel.name):
                raise DataError(
                    f"{self.path}: {rel.as_posix()} is not an image file (expected "
                    f"{', '.join(sorted(s.lstrip('.') for s in IMAGE_SUFFIXES))})"
                )
        # One top-level folder around everything (as in Omniglot's zips) is a wrapper, not a class.
        tops = {rel.parts[0] for _, rel in entries}
        strip = 1 if len(tops) == 1 and all(len(rel.parts) >= 3 for _, rel in entries) else 0
        refs = []
        for location, rel in entries:
            parts = rel.parts[strip:]
            if len(parts) < 2:
                raise DataError(
                    f"{self.path}: {rel.as_posix()} is not inside a class sub-folder; put each "
                    "class's images in a folder named after the class"
                )
            class_key = "/".join(parts[:-1])
            group_key = "/".join(parts[:-2])
            refs.append(ImageRef(location, class_key, group_key, parts[-1]))
        return refs

    def list_flat_images(self) -> list[ImageRef]:
        """List images anywhere under the root (for query folders); the class key is empty."""
        refs = []
        for location, rel in sorted(self._files(), key=lambda item: item[1].as_posix()):
            if not _is_image_name(rel.name):
                raise DataError(f"{self.path}: {rel.as_posix()} is not an image file")
            refs.append(ImageRef(location, "", "", rel.as_posix()))
        if not refs:
            raise DataError(f"{self.path} contains no images")
        return refs

    def read_bytes(self, ref: ImageRef) -> bytes:
        if self._archive is not None:
            return self._archive.read(ref.location)
        return Path(ref.location).read_bytes()

    def decode(self, ref: ImageRef, size: int) -> tuple[np.ndarray, tuple[int, int]]:
        """Return the image as a ``size`` x ``size`` float32 array with strokes near 1.

        Any size, mode or colour is accepted: the image becomes grayscale, is resized, and is
        inverted when its border is light, so dark-on-light drawings and light-on-dark ones
        look the same to the network.
        """
        from PIL import Image, UnidentifiedImageError

        shown = ref.name if not ref.class_key else f"{ref.class_key}/{ref.name}"
        try:
            with Image.open(io.BytesIO(self.read_bytes(ref))) as image:
                if image.width * image.height > MAX_PIXELS:
                    raise DataError(f"{self.path}: {shown} is too large ({image.size}) to be used")
                original = image.size
                image = image.convert("L").resize((size, size), Image.Resampling.BOX)
                pixels = np.asarray(image, dtype=np.float32) / 255.0
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
            raise DataError(f"{self.path}: {shown} is not a readable image ({exc})") from None
        border = np.concatenate([pixels[0], pixels[-1], pixels[:, 0], pixels[:, -1]])
        if border.mean() > 0.5:
            pixels = 1.0 - pixels
        return pixels, original
