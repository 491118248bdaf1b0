"""Landmarkers: cross-validated performance of simple learners.

OpenML's landmarkers come from Weka (DecisionStump, REPTree, RandomTree, NaiveBayes, IBk with
k=1). The scikit-learn learners below are the closest equivalents and carry OpenML's names, but
they are not identical (different split criteria and pruning, Gaussian naive Bayes on one-hot
encoded nominal attributes, 5-fold instead of 10-fold CV on a sample), so their values are close to
OpenML's rather than equal; docs/metafeatures.md records the measured agreement. J48 and the
CfsSubsetEval_* landmarkers have no faithful equivalent and are not computed.

Landmarkers run on a stratified sample of at most ``SAMPLE_ROWS`` rows and at most
``MAX_COLUMNS`` attributes (both seeded by ``random_state``) because their cost grows with the data
while their information does not.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np

from metafeatures.prepared import PreparedData

SAMPLE_ROWS = 5_000
# Wider tables are landmarked on a seeded sample of this many attributes: a tree on all 100,000
# columns of a wide table takes minutes and the design matrix gigabytes.
MAX_COLUMNS = 1_000
N_FOLDS = 5
MAX_ONE_HOT_LEVELS = 20

CLASSIFIER_NAMES = (
    "DecisionStump",
    "REPTreeDepth1",
    "REPTreeDepth2",
    "REPTreeDepth3",
    "RandomTreeDepth1",
    "RandomTreeDepth2",
    "RandomTreeDepth3",
    "NaiveBayes",
    "kNN1N",
)
REGRESSOR_NAMES = ("DecisionStumpR2", "LinearRegressionR2", "kNN1NR2")
NAMES = (
    tuple(
        f"{model}{metric}" for model in CLASSIFIER_NAMES for metric in ("ErrRate", "Kappa", "AUC")
    )
    + REGRESSOR_NAMES
)


def landmark_attributes(data: PreparedData) -> tuple[np.ndarray | None, np.ndarray]:
    """(numeric, nominal) attribute indices the landmarkers see; numeric None means all.

    Up to ``MAX_COLUMNS`` attributes that is every one; beyond, a seeded sample of that many,
    drawn from its own stream ([seed, 2]) so the row sample does not change with it.
    """
    n_numeric, n_nominal = data.numeric.shape[1], data.codes.shape[1]
    if n_numeric + n_nominal <= MAX_COLUMNS:
        return None, np.arange(n_nominal)
    rng = np.random.default_rng([data.random_state, 2])
    chosen = np.sort(rng.choice(n_numeric + n_nominal, MAX_COLUMNS, replace=False))
    return chosen[chosen < n_numeric], chosen[chosen >= n_numeric] - n_numeric


def _design_matrix(data: PreparedData, rows: np.ndarray) -> np.ndarray:
    """Mean-imputed, min-max scaled numeric columns plus capped one-hot nominal columns."""
    parts = []
    numeric_columns, nominal_columns = landmark_attributes(data)
    if data.numeric.shape[1] and (numeric_columns is None or numeric_columns.size):
        numeric = (
            data.numeric[rows]
            if numeric_columns is None
            else data.numeric[np.ix_(rows, numeric_columns)]
        )
        present = ~np.isnan(numeric)
        with np.errstate(invalid="ignore"):
            means = np.nanmean(np.where(present.any(axis=0), numeric, 0.0), axis=0)
        numeric = np.where(present, numeric, means)
        low, high = numeric.min(axis=0), numeric.max(axis=0)
        span = np.where(high > low, high - low, 1.0)
        parts.append((numeric - low) / span)
    for j in nominal_columns:
        codes = data.codes[rows, j]
        levels, counts = np.unique(codes[codes >= 0], return_counts=True)
        kept = levels[np.argsort(-counts, kind="stable")[:MAX_ONE_HOT_LEVELS]]
        parts.append((codes[:, None] == kept[None, :]).astype(np.float64))
    return np.hstack(parts) if parts else np.zeros((rows.size, 0))


class OneNearestNeighbour:
    """1-NN by one BLAS matrix product per fold (Euclidean; ties go to the earliest row, as in
    scikit-learn), several times faster than a KD-tree search on the sample sizes used here."""

    def fit(self, X: np.ndarray, y: np.ndarray) -> OneNearestNeighbour:
        # float32 halves the memory traffic of the distance matrix; the inputs are min-max scaled
        # and one-hot, so single precision separates neighbours as well as double does.
        self.X_, self.y_ = X.astype(np.float32), y
        self.classes_ = np.unique(y)
        self.sq_norms_ = np.einsum("ij,ij->i", self.X_, self.X_)
        return self

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        distances = self.sq_norms_[None, :] - 2.0 * (X.astype(np.float32) @ self.X_.T)
        nearest = self.y_[np.argmin(distances, axis=1)]
        return (nearest[:, None] == self.classes_[None, :]).astype(np.float64)


def truncated_proba(tree: object, X: np.ndarray, depth: int) -> np.ndarray:
    """Class probabilities of ``tree`` cut off at ``depth``.

    A tree grown greedily to depth 3 makes the same splits in its first levels as trees grown to
    depth 1 or 2 (ties aside), so one fit per fold serves all three depths.
    """
    structure = tree.tree_
    node = np.zeros(len(X), dtype=np.intp)
    rows = np.arange(len(X))
    for _ in range(depth):
        internal = structure.children_left[node] != -1
        if not internal.any():
            break
        go_left = X[rows, np.maximum(structure.feature[node], 0)] <= structure.threshold[node]
        child = np.where(go_left, structure.children_left[node], structure.children_right[node])
        node = np.where(internal, child, node)
    value = structure.value[node][:, 0, :]
    return value / value.sum(axis=1, keepdims=True)


def _learners(n_features: int, random_state: int) -> list[tuple[Callable[[], object], dict]]:
    """(factory, {landmarker name: depth to cut the tree at, or None for the model itself})."""
    from sklearn.naive_bayes import GaussianNB
    from sklearn.tree import DecisionTreeClassifier

    k_random = min(int(np.log2(max(n_features, 1))) + 1, n_features)  # Weka RandomTree's K

    def tree(**kw: object) -> Callable[[], object]:
        return lambda: DecisionTreeClassifier(
            max_depth=3, criterion="entropy", random_state=random_state, **kw
        )

    return [
        (tree(), {"DecisionStump": 1, "REPTreeDepth2": 2, "REPTreeDepth3": 3}),
        (
            tree(max_features=k_random),
            {"RandomTreeDepth1": 1, "RandomTreeDepth2": 2, "RandomTreeDepth3": 3},
        ),
        (GaussianNB, {"NaiveBayes": None}),
        (OneNearestNeighbour, {"kNN1N": None}),
    ]


def _stratified_sample(labels: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    if labels.size <= size:
        return np.arange(labels.size)
    from sklearn.model_selection import train_test_split

    index = np.arange(labels.size)
    counts = np.bincount(labels)
    present = counts[counts > 0]
    # A stratified split needs two rows of every class and, on each side, at least one row per
    # class: a table just over ``size`` rows leaves too few aside, and is sampled plainly.
    stratify = (labels if present.min() >= 2 and min(size, labels.size - size) >= present.size
                else None)
    sample, _ = train_test_split(
        index, train_size=size, stratify=stratify, random_state=int(rng.integers(2**31 - 1))
    )
    return np.sort(sample)


def _classification(data: PreparedData) -> dict[str, float]:
    from sklearn.metrics import cohen_kappa_score, roc_auc_score
    from sklearn.model_selection import StratifiedKFold

    out: dict[str, float] = {}
    rng = np.random.default_rng(data.random_state)
    labelled = np.flatnonzero(data.y_codes >= 0)
    _, labels = np.unique(data.y_codes[labelled], return_inverse=True)
    chosen = _stratified_sample(labels, SAMPLE_ROWS, rng)
    rows, y = labelled[chosen], labels[chosen]
    # Classes too small to appear in every fold are left out of the landmarking sample.
    counts = np.bincount(y)
    keep = counts[y] >= 2
    rows, y = rows[keep], np.unique(y[keep], return_inverse=True)[1]
    if np.unique(y).size < 2:
        return out
    n_folds = int(min(N_FOLDS, np.bincount(y).min()))
    X = _design_matrix(data, rows)
    if X.shape[1] == 0:
        return out
    folds = list(
        StratifiedKFold(n_splits=n_folds, shuffle=True, random_state=data.random_state).split(X, y)
    )
    n_classes = int(y.max()) + 1
    probas: dict[str, np.ndarray] = {}
    for make, outputs in _learners(X.shape[1], data.random_state):
        for name in outputs:
            probas[name] = np.zeros((y.size, n_classes))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for train, test in folds:
                model = make().fit(X[train], y[train])
                columns = np.ix_(test, model.classes_)
                for name, depth in outputs.items():
                    probas[name][columns] = (
                        model.predict_proba(X[test])
                        if depth is None
                        else truncated_proba(model, X[test], depth)
                    )
    for name, proba in probas.items():
        predicted = proba.argmax(axis=1)
        out[f"{name}ErrRate"] = float((predicted != y).mean())
        out[f"{name}Kappa"] = float(cohen_kappa_score(y, predicted))
        try:
            if proba.shape[1] == 2:
                out[f"{name}AUC"] = float(roc_auc_score(y, proba[:, 1]))
            else:
                out[f"{name}AUC"] = float(
                    roc_auc_score(y, proba, multi_class="ovr", average="weighted")
                )
        except ValueError:
            out[f"{name}AUC"] = np.nan
    # REPTree of depth 1 and a decision stump are the same learner.
    for metric in ("ErrRate", "Kappa", "AUC"):
        out[f"REPTreeDepth1{metric}"] = out[f"DecisionStump{metric}"]
    return out


def _regression(data: PreparedData) -> dict[str, float]:
    from sklearn.linear_model import LinearRegression
    from sklearn.model_selection import KFold, cross_val_score
    from sklearn.neighbors import KNeighborsRegressor
    from sklearn.tree import DecisionTreeRegressor

    rng = np.random.default_rng(data.random_state)
    labelled = np.flatnonzero(~np.isnan(data.y_values))
    if labelled.size > SAMPLE_ROWS:
        labelled = np.sort(rng.choice(labelled, SAMPLE_ROWS, replace=False))
    if labelled.size < 2 * N_FOLDS:
        return {}
    X, y = _design_matrix(data, labelled), data.y_values[labelled]
    if X.shape[1] == 0 or np.ptp(y) == 0:
        return {}
    cv = KFold(n_splits=N_FOLDS, shuffle=True, random_state=data.random_state)
    models = {
        "DecisionStumpR2": DecisionTreeRegressor(max_depth=1, random_state=data.random_state),
        "LinearRegressionR2": LinearRegression(),
        "kNN1NR2": KNeighborsRegressor(n_neighbors=1),
    }
    out = {}
    for name, model in models.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out[name] = float(np.mean(cross_val_score(model, X, y, cv=cv, scoring="r2")))
    return out


def compute(data: PreparedData) -> dict[str, float]:
    out = dict.fromkeys(NAMES, np.nan)
    if data.task == "classification":
        out.update(_classification(data))
    else:
        out.update(_regression(data))
    return out
