"""Entropies and mutual information of nominal attributes (OpenML's definitions, in bits).

Only nominal attributes enter AttributeEntropy and MutualInformation, as in OpenML. OpenML
computes them after Weka's ReplaceMissingValues filter, which puts each attribute's mode in place of
its missing values; we do the same so the values agree (rows with a missing class are left out).
"""

from __future__ import annotations

import numpy as np

from metafeatures.prepared import PreparedData
from metafeatures.summary import safe_ratio, summarize

BLOCK_COLUMNS = 16


def entropy_bits(counts: np.ndarray, axis: int = -1) -> np.ndarray:
    """Shannon entropy (base 2) of count vectors along ``axis``; zero counts contribute nothing."""
    counts = np.asarray(counts, dtype=np.float64)
    total = counts.sum(axis=axis, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = counts / total
        terms = np.where(p > 0, -p * np.log2(np.where(p > 0, p, 1.0)), 0.0)
    result = terms.sum(axis=axis)
    return np.where(np.squeeze(total, axis=axis) > 0, result, np.nan)


def contingency_tables(
    codes: np.ndarray, n_levels: np.ndarray, labels: np.ndarray, n_classes: int
) -> list[np.ndarray]:
    """Per-attribute (levels x classes) count tables, computed with one bincount per block."""
    tables = []
    for start in range(0, codes.shape[1], BLOCK_COLUMNS):
        block = codes[:, start : start + BLOCK_COLUMNS]
        levels = n_levels[start : start + BLOCK_COLUMNS]
        offsets = np.concatenate(([0], np.cumsum(levels)[:-1]))
        valid = (block >= 0) & (labels[:, None] >= 0)
        flat = (block + offsets) * n_classes + labels[:, None]
        counts = np.bincount(flat[valid], minlength=int(levels.sum()) * n_classes)
        for offset, size in zip(offsets, levels, strict=True):
            table = counts[offset * n_classes : (offset + size) * n_classes]
            tables.append(table.reshape(size, n_classes))
    return tables


def mode_filled(codes: np.ndarray, n_levels: np.ndarray) -> np.ndarray:
    """Codes with each column's missing entries (-1) replaced by the column's most frequent code."""
    filled = codes.copy()
    for j in range(codes.shape[1]):
        column = filled[:, j]
        missing = column < 0
        if missing.any() and not missing.all():
            column[missing] = np.bincount(column[~missing], minlength=n_levels[j]).argmax()
    return filled


def compute(data: PreparedData) -> dict[str, float]:
    classification = data.task == "classification"
    class_entropy = np.nan
    if classification and data.class_counts.sum() > 0:
        class_entropy = float(entropy_bits(data.class_counts))
    attribute_entropy = np.full(data.codes.shape[1], np.nan)
    mutual_information = np.full(data.codes.shape[1], np.nan)
    if data.codes.shape[1]:
        codes = (
            mode_filled(data.codes, data.n_levels) if data.categorical_missing.any() else data.codes
        )
        if classification:
            tables = contingency_tables(codes, data.n_levels, data.y_codes, data.n_classes)
            for j, table in enumerate(tables):
                if table.sum() == 0:
                    continue
                h_attr = entropy_bits(table.sum(axis=1))
                h_class = entropy_bits(table.sum(axis=0))
                h_joint = entropy_bits(table.ravel())
                mutual_information[j] = h_attr + h_class - h_joint
        attribute_entropy = _attribute_entropies(codes, data.n_levels)
    out: dict[str, float] = {"ClassEntropy": class_entropy}
    out.update(summarize(attribute_entropy, "AttributeEntropy"))
    out.update(summarize(mutual_information, "MutualInformation"))
    mean_mi = out["MeanMutualInformation"]
    out["EquivalentNumberOfAtts"] = safe_ratio(class_entropy, mean_mi)
    out["MeanNoiseToSignalRatio"] = safe_ratio(out["MeanAttributeEntropy"] - mean_mi, mean_mi)
    return out


def _attribute_entropies(codes: np.ndarray, n_levels: np.ndarray) -> np.ndarray:
    # Attribute entropy counts every row, whatever (or whether any) the class.
    dummy_labels = np.zeros(codes.shape[0], dtype=np.int64)
    tables = contingency_tables(codes, n_levels, dummy_labels, 1)
    return np.array([entropy_bits(t.ravel()) for t in tables])
