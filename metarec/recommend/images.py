"""A folder of images is not a table: ``recommend`` routes it to the few-shot learner."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from metarec.errors import DataError


def image_task(folder: str | Path) -> dict[str, Any]:
    """The answer for an image folder (one sub-folder of images per class): the shipped
    prototypical network, and the command that classifies new images with it.

    Raises :class:`DataError` for a folder that is not an image dataset."""
    from metarec.fewshot import is_image_folder

    folder = Path(folder)
    if not is_image_folder(folder):
        raise DataError(
            f"{folder} is a folder but not an image dataset (one sub-folder of images per "
            "class); pass a data file instead."
        )
    return {
        "task": "image-few-shot",
        "dataset": str(folder),
        "recommendations": [
            {
                "rank": 1,
                "algorithm": "protonet",
                "model": "shipped prototypical network",
                "command": f"metarec fewshot predict --support {folder} --query QUERY_DIR",
            }
        ],
    }
