"""A fitted multi-output tree ensemble kept as tree structure plus its training data.

A scikit-learn regression tree stores, for every node, the mean of every output: for hundreds of
configurations and hundreds of trees that is over a hundred megabytes. Without bootstrapping a
leaf's value is exactly the mean of the training targets that reach it, so keeping the split
structure and the training data (a few megabytes) is enough to predict identically, and it is what
makes a fitted meta-learner small enough to ship.
"""

from __future__ import annotations

import weakref
from typing import Any

import numpy as np

_LEAF = -1
_LEAF_VALUES: weakref.WeakKeyDictionary[Any, np.ndarray] = weakref.WeakKeyDictionary()


class CompactTree:
    """Split structure of one fitted scikit-learn tree, with a numpy ``apply``/``predict``."""

    def __init__(self, tree: Any, train_features: np.ndarray, train_targets: np.ndarray) -> None:
        structure = tree.tree_
        self.left = structure.children_left.astype(np.int32)
        self.right = structure.children_right.astype(np.int32)
        self.feature = structure.feature.astype(np.int32)
        self.threshold = structure.threshold.astype(np.float64)
        missing_left = getattr(structure, "missing_go_to_left", None)
        self.missing_left = (
            np.zeros(len(self.left), dtype=bool)
            if missing_left is None
            else np.asarray(missing_left, dtype=bool)
        )
        # Shared with the other trees of the forest (and stored once by metarec.metalearner.codec).
        self.train_features = train_features
        self.train_targets = train_targets

    def apply(self, X: np.ndarray) -> np.ndarray:
        """Leaf index reached by each row (scikit-learn's rule: go left when x <= threshold)."""
        node = np.zeros(len(X), dtype=np.int32)
        rows = np.arange(len(X))
        active = self.left[node] != _LEAF
        while active.any():
            at = node[active]
            x = X[rows[active], self.feature[at]]
            go_left = np.where(np.isnan(x), self.missing_left[at], x <= self.threshold[at])
            node[active] = np.where(go_left, self.left[at], self.right[at])
            active = self.left[node] != _LEAF
        return node

    def leaf_values(self) -> np.ndarray:
        values = _LEAF_VALUES.get(self)
        if values is None:
            leaves = self.apply(self.train_features)
            targets = self.train_targets
            sums = np.zeros((len(self.left), targets.shape[1]))
            np.add.at(sums, leaves, targets)
            counts = np.bincount(leaves, minlength=len(self.left))
            values = sums / np.maximum(counts, 1)[:, None]
            _LEAF_VALUES[self] = values
        return values

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.leaf_values()[self.apply(np.asarray(X, dtype=np.float64))]


class CompactForest:
    """Drop-in for the fitted forest's ``estimators_`` and ``predict`` (mean over trees)."""

    def __init__(self, forest: Any, features: np.ndarray, targets: np.ndarray) -> None:
        if getattr(forest, "bootstrap", False):
            raise ValueError("a bootstrapped forest's leaves are not training means")
        self.train_features = np.asarray(features, dtype=np.float64)
        self.train_targets = np.asarray(targets, dtype=np.float64).reshape(len(features), -1)
        self.estimators_ = [
            CompactTree(tree, self.train_features, self.train_targets)
            for tree in forest.estimators_
        ]

    def predict(self, X: np.ndarray) -> np.ndarray:
        return np.mean([tree.predict(X) for tree in self.estimators_], axis=0)
