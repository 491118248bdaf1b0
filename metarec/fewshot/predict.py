"""Classify query images against a labelled support folder with a trained model."""

from __future__ import annotations

import os
from pathlib import Path

import torch

from metarec.errors import DataError
from metarec.fewshot.checkpoint import load_checkpoint
from metarec.fewshot.data import load_image_set, load_query_images
from metarec.fewshot.device import select_device
from metarec.fewshot.evaluate import check_transductive, check_views, embed_views
from metarec.fewshot.methods.base import MetricMethod
from metarec.fewshot.methods.protonet import refine_prototypes, squared_distances

MODEL_ENV = "METAREC_FEWSHOT_MODEL"
# Queries are classified in chunks so that a large query folder does not exhaust memory.
QUERY_CHUNK = 256
# Views averaged per image for metric methods unless told otherwise: on the validation alphabet
# 8 views gave +1.4 points 20-way 1-shot over 1 to the previous shipped model and +0.8 to the
# current one (knowledge_base/fewshot/MODEL_CARD.md); 16 gave no more.
DEFAULT_VIEWS = 8


def default_model_path() -> Path:
    """The shipped prototypical network, unless METAREC_FEWSHOT_MODEL names another model."""
    if os.environ.get(MODEL_ENV):
        return Path(os.environ[MODEL_ENV])
    return (
        Path(__file__).resolve().parents[2] / "knowledge_base" / "fewshot" / "protonet_omniglot.pt"
    )


def predict(
    support_dir: str | Path,
    query_dir: str | Path,
    model_path: str | Path | None = None,
    device: str = "auto",
    mixed_sizes: bool = False,
    views: int | None = None,
    transductive: bool = False,
) -> dict[str, str]:
    """Return {query image name: predicted class name}; the support has one folder per class.

    ``views``: embeddings averaged over that many views of each image (metric methods; default
    :data:`DEFAULT_VIEWS` for them, 1 for MAML). ``transductive`` refines the class prototypes
    with all the query images (protonet only): use it when the queries are a batch of images of
    the support's classes; a query's prediction then depends on the other queries.
    """
    path = Path(model_path) if model_path is not None else default_model_path()
    if model_path is None and not path.is_file():
        raise DataError(
            f"the default few-shot model {path} is missing; pass `model_path` or train one "
            "with `metarec fewshot train`",
            parameters=("model_path",),
        )
    target = select_device(device)
    model, _ = load_checkpoint(path, target)
    metric = isinstance(model, MetricMethod)
    if views is None:
        views = DEFAULT_VIEWS if metric else 1
    check_views(model, views)
    check_transductive(model, transductive)
    support = load_image_set(support_dir, model.image_size, min_classes=2, mixed_sizes=mixed_sizes)
    names, query = load_query_images(query_dir, model.image_size, mixed_sizes)
    support_x = torch.cat(support.images).to(target)
    support_y = torch.cat(
        [torch.full((len(x),), i, dtype=torch.long) for i, x in enumerate(support.images)]
    ).to(target)
    chunks = range(0, len(query), QUERY_CHUNK)
    predictions: list[int] = []
    with torch.no_grad():
        if not metric:
            for start in chunks:
                chunk = query[start : start + QUERY_CHUNK].to(target)
                logits = model(support_x, support_y, chunk, support.n_classes)
                predictions.extend(logits.argmax(1).tolist())
        else:
            assert isinstance(model, MetricMethod)
            support_emb = embed_views(model, support_x, views, seed=0)
            # Embeddings are small (64 floats an image): all of them are kept, so that the
            # transductive refinement sees every query.
            query_embs = [
                embed_views(model, query[start : start + QUERY_CHUNK].to(target), views,
                            seed=1 + start)
                for start in chunks
            ]  # fmt: skip
            prototypes = None
            if transductive:
                prototypes = refine_prototypes(
                    support_emb, support_y, torch.cat(query_embs), support.n_classes
                )
            for query_emb in query_embs:
                if prototypes is not None:
                    logits = -squared_distances(query_emb, prototypes)
                else:
                    logits = model.scores(support_emb, support_y, query_emb, support.n_classes)
                predictions.extend(logits.argmax(1).tolist())
    # Class names are the class folders' paths under the support root: unique even when
    # classes are nested under alphabets.
    return {name: support.class_names[p] for name, p in zip(names, predictions, strict=True)}
