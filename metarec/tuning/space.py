"""Optuna search spaces over pipeline specs, and the mapping between specs and trial parameters.

One study searches one space: the algorithm is a categorical parameter, each algorithm's
hyperparameters are conditional parameters named ``"<algorithm>:<hyperparameter>"``, and the
numeric imputer is a parameter when the data has missing values. The space depends only on the
task, whether the data has missing values and the knowledge base (never on the recommendations),
so several processes sharing one study build identical distributions.

Bounds start from sane defaults and are widened, within hard limits, to the range the knowledge
base's configurations use, so recommended configurations fall inside the space instead of being
clipped. Values in other units (``min_samples_split`` given as a fraction,
``max_features="sqrt"``, ``gamma="auto"``) are converted with the data's shape.

Tables far wider than long (p >> n, see :func:`wide_reduction`) also search a dimensionality
reduction that every trial applies before its estimator, so a trial costs seconds, not minutes.

One module (about 570 lines) on purpose: the distributions, their conditional structure and the
two mappings (trial parameters -> spec, spec -> parameters for the warm start) must change
together, or a recommended configuration stops round-tripping through a study.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any, Literal

from metarec.pipelines import ALGORITHMS, normalize_spec

ALGORITHM_PARAM = "algorithm"
IMPUTER_PARAM = "imputer"
# Estimators that take NaN themselves get their own imputer parameter (with "native"), so one
# parameter name never has two sets of choices.
NATIVE_IMPUTER_PARAM = "imputer_nan"
SEARCHED_IMPUTERS = ("mean", "median", "most_frequent", "constant", "knn")
# Imputers outside the search are mapped to their closest searched counterpart.
_IMPUTER_FALLBACK = {"iterative": "knn"}
# Gaussian processes are cubic in the number of rows: a single trial can outlast a whole budget.
EXCLUDED_ALGORITHMS = frozenset({"gaussian_process"})
# Assumed shape when a conversion needs one and none is given.
_DEFAULT_N_FEATURES = 20
_DEFAULT_N_SAMPLES = 1000

Kind = Literal["int", "float", "categorical"]

# p >> n: a trial on every column of a 200 x 20,000 table takes minutes (gradient boosting, the
# kNN imputer), while a few hundred rows cannot support that many columns anyway. Tables with more
# columns than this and than rows search a reduction to at most REDUCED_FEATURES[2] features.
WIDE_MIN_FEATURES = 1_000
REDUCTION_PARAM = "reduction"
REDUCED_FEATURES_PARAM = "reduced_features"
REDUCTIONS = ("pca", "select_percentile")
REDUCED_FEATURES = (8, 64, 256)  # low, default, high (log scale)


@dataclass(frozen=True)
class Param:
    """One hyperparameter: its distribution, its estimator default and the hard limits that
    knowledge-base widening may not cross."""

    name: str
    kind: Kind
    low: float = 0.0
    high: float = 1.0
    log: bool = False
    choices: tuple[Any, ...] = ()
    default: Any = None
    hard: tuple[float, float] | None = None
    only_if: tuple[str, tuple[Any, ...]] | None = None  # (other hyperparameter, its values)

    def distribution(self) -> Any:
        from optuna.distributions import (
            CategoricalDistribution,
            FloatDistribution,
            IntDistribution,
        )

        if self.kind == "categorical":
            return CategoricalDistribution(list(self.choices))
        if self.kind == "int":
            return IntDistribution(int(self.low), int(self.high), log=self.log)
        return FloatDistribution(float(self.low), float(self.high), log=self.log)

    def clip(self, value: Any) -> Any:
        """Bring ``value`` into the distribution (nearest bound, or the default choice)."""
        if self.kind == "categorical":
            return value if _in_choices(value, self.choices) else self.default
        if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
            value = self.default
        value = min(max(float(value), self.low), self.high)
        return int(round(value)) if self.kind == "int" else value


def _in_choices(value: Any, choices: tuple[Any, ...]) -> bool:
    # True == 1 in Python; a bool must not match an int choice or the other way round.
    return any(value == c and type(value) is type(c) for c in choices)


def _i(name: str, low: int, high: int, default: int, log: bool = False,
       hard: tuple[float, float] | None = None, **kw: Any) -> Param:
    return Param(name, "int", low, high, log=log, default=default, hard=hard, **kw)


def _f(name: str, low: float, high: float, default: float, log: bool = False,
       hard: tuple[float, float] | None = None, **kw: Any) -> Param:
    return Param(name, "float", low, high, log=log, default=default, hard=hard, **kw)


def _c(name: str, choices: Iterable[Any], default: Any, **kw: Any) -> Param:
    return Param(name, "categorical", choices=tuple(choices), default=default, **kw)


_BALANCE = _c("class_weight", (None, "balanced"), None)


def _forest(task: str, bootstrap: bool) -> list[Param]:
    criteria = ("gini", "entropy") if task == "classification" else ("squared_error",)
    return [
        _i("n_estimators", 10, 512, 100, log=True, hard=(5, 1000)),
        _f("max_features", 0.03, 1.0, 1.0 if task == "regression" else 0.3, hard=(0.01, 1.0)),
        _i("min_samples_split", 2, 32, 2, log=True, hard=(2, 256)),
        _i("min_samples_leaf", 1, 20, 1, log=True, hard=(1, 128)),
        _c("criterion", criteria, criteria[0]),
        _c("bootstrap", (True, False), bootstrap),
        *([_BALANCE] if task == "classification" else []),
    ]


def _algorithm_params(algorithm: str, task: str) -> list[Param]:
    clf = task == "classification"
    if algorithm in ("random_forest", "extra_trees"):
        return _forest(task, bootstrap=algorithm == "random_forest")
    if algorithm == "decision_tree":
        criteria = ("gini", "entropy") if clf else ("squared_error", "absolute_error")
        return [
            _i("max_depth", 1, 32, 32, hard=(1, 64)),
            _i("min_samples_split", 2, 64, 2, log=True, hard=(2, 256)),
            _i("min_samples_leaf", 1, 32, 1, log=True, hard=(1, 128)),
            _c("criterion", criteria, criteria[0]),
            *([_BALANCE] if clf else []),
        ]
    if algorithm == "gradient_boosting":
        return [
            _f("learning_rate", 0.005, 1.0, 0.1, log=True, hard=(1e-3, 1.0)),
            _i("n_estimators", 20, 500, 100, log=True, hard=(10, 1000)),
            _i("max_depth", 1, 10, 3, hard=(1, 16)),
            _f("subsample", 0.5, 1.0, 1.0, hard=(0.1, 1.0)),
            _f("max_features", 0.1, 1.0, 1.0, hard=(0.01, 1.0)),
        ]
    if algorithm == "hist_gradient_boosting":
        return [
            _f("learning_rate", 0.01, 1.0, 0.1, log=True, hard=(1e-3, 1.0)),
            _i("max_iter", 32, 512, 100, log=True, hard=(10, 1000)),
            _i("max_leaf_nodes", 3, 2047, 31, log=True, hard=(2, 4096)),
            _i("min_samples_leaf", 1, 200, 20, log=True, hard=(1, 500)),
            _f("l2_regularization", 1e-10, 1.0, 1e-10, log=True, hard=(1e-10, 100.0)),
            *([_BALANCE] if clf else []),
        ]
    if algorithm == "lightgbm":
        return [
            _i("n_estimators", 32, 1000, 100, log=True, hard=(10, 2000)),
            _f("learning_rate", 0.005, 0.5, 0.1, log=True, hard=(1e-3, 1.0)),
            _i("num_leaves", 4, 256, 31, log=True, hard=(2, 1024)),
            _i("min_child_samples", 2, 100, 20, log=True, hard=(1, 500)),
            _f("colsample_bytree", 0.3, 1.0, 1.0, hard=(0.1, 1.0)),
            _f("reg_lambda", 1e-8, 10.0, 1e-8, log=True, hard=(1e-10, 100.0)),
            _c("extra_trees", (False, True), False),
            *([_BALANCE] if clf else []),
        ]
    if algorithm == "adaboost":
        out = [
            _i("n_estimators", 20, 500, 50, log=True, hard=(10, 1000)),
            _f("learning_rate", 0.01, 2.0, 1.0, log=True, hard=(1e-3, 3.0)),
            _i("max_depth", 1, 10, 1 if clf else 3, hard=(1, 16)),
        ]
        if not clf:
            out.append(_c("loss", ("linear", "square", "exponential"), "linear"))
        return out
    if algorithm == "k_nearest_neighbors":
        return [
            _i("n_neighbors", 1, 64, 5, log=True, hard=(1, 256)),
            _c("weights", ("uniform", "distance"), "uniform"),
            _c("p", (1, 2), 2),
        ]
    if algorithm == "logistic_regression":
        return [_f("C", 1e-4, 1e4, 1.0, log=True, hard=(1e-6, 1e6)), _BALANCE]
    if algorithm == "linear_svm":
        out = [_f("C", 0.03, 1e4, 1.0, log=True, hard=(1e-4, 1e5))]
        return [*out, _BALANCE] if clf else [
            *out, _f("epsilon", 1e-3, 1.0, 1e-3, log=True, hard=(1e-5, 10.0))]
    if algorithm == "svm":
        kernels = ("rbf", "poly", "sigmoid")
        out = [
            _f("C", 0.03, 32768.0, 1.0, log=True, hard=(1e-4, 1e6)),
            _f("gamma", 3e-5, 8.0, 0.05, log=True, hard=(1e-6, 100.0)),
            _c("kernel", kernels, "rbf"),
            _i("degree", 2, 5, 3, hard=(1, 8), only_if=("kernel", ("poly",))),
            _f("coef0", -1.0, 1.0, 0.0, hard=(-10.0, 10.0),
               only_if=("kernel", ("poly", "sigmoid"))),
        ]
        return [*out, _BALANCE] if clf else [
            *out, _f("epsilon", 1e-3, 1.0, 0.1, log=True, hard=(1e-5, 10.0))]
    if algorithm == "sgd":
        losses = (("hinge", "log_loss", "modified_huber") if clf
                  else ("squared_error", "huber", "epsilon_insensitive"))
        return [
            _c("loss", losses, losses[0]),
            _c("penalty", ("l2", "l1", "elasticnet"), "l2"),
            _f("alpha", 1e-7, 0.1, 1e-4, log=True, hard=(1e-9, 10.0)),
            *([_BALANCE] if clf else []),
        ]
    if algorithm == "perceptron":
        return [
            _c("penalty", (None, "l2", "l1"), None),
            _f("alpha", 1e-6, 0.1, 1e-4, log=True, hard=(1e-9, 10.0)),
            _BALANCE,
        ]
    if algorithm == "mlp":
        return [
            _i("hidden_units", 16, 256, 100, log=True, hard=(4, 1024)),
            _i("hidden_layers", 1, 3, 1, hard=(1, 4)),
            _f("alpha", 1e-7, 0.1, 1e-4, log=True, hard=(1e-9, 10.0)),
            _f("learning_rate_init", 1e-4, 0.1, 1e-3, log=True, hard=(1e-5, 1.0)),
            _c("activation", ("relu", "tanh"), "relu"),
        ]
    if algorithm == "gaussian_nb":
        return [_f("var_smoothing", 1e-12, 0.1, 1e-9, log=True, hard=(1e-14, 1.0))]
    if algorithm in ("bernoulli_nb", "multinomial_nb"):
        return [_f("alpha", 0.01, 100.0, 1.0, log=True, hard=(1e-4, 1000.0)),
                _c("fit_prior", (True, False), True)]
    if algorithm == "lda":
        return [_f("shrinkage", 0.0, 1.0, 0.0, hard=(0.0, 1.0))]
    if algorithm == "qda":
        return [_f("reg_param", 0.0, 1.0, 0.0, hard=(0.0, 1.0))]
    if algorithm == "ridge":
        return [_f("alpha", 1e-4, 1e4, 1.0, log=True, hard=(1e-8, 1e6))]
    if algorithm in ("lasso", "elastic_net"):
        # the regression campaign's grids (1e-4..10) widened by a decade each way
        alpha = _f("alpha", 1e-5, 100.0, 1.0, log=True, hard=(1e-8, 1e4))
        return [alpha] if algorithm == "lasso" else [
            alpha, _f("l1_ratio", 0.01, 1.0, 0.5, hard=(0.0, 1.0))]
    if algorithm == "ard_regression":
        return [
            *(_f(n, 1e-10, 1e-3, 1e-6, log=True, hard=(1e-12, 1.0))
              for n in ("alpha_1", "alpha_2", "lambda_1", "lambda_2")),
            _f("threshold_lambda", 1e3, 1e5, 1e4, log=True, hard=(10.0, 1e7)),
        ]
    return []


# Not searched, but needed for every trial to behave (convergence, solver compatibility).
FIXED: dict[str, dict[str, Any]] = {
    "logistic_regression": {"max_iter": 1000},
    "linear_svm": {"dual": "auto", "max_iter": 5000},
    "sgd": {"max_iter": 1000, "tol": 1e-3},
    "perceptron": {"max_iter": 1000, "tol": 1e-3},
    "lda": {"solver": "lsqr"},
    "ard_regression": {"max_iter": 300},
    "lasso": {"max_iter": 5000},  # as the regression campaign ran them
    "elastic_net": {"max_iter": 5000},
    "mlp": {"max_iter": 300},
    # SVMs' iteration limit is not here: metarec.pipelines.build bounds every SVM it makes
    # (ITERATION_BOUNDS), trials and untuned fits alike.
}


@dataclass(frozen=True)
class Reduction:
    """The dimensionality reduction searched on a wide table: PCA or univariate selection down to
    a searched number of features, at most half the rows (PCA cannot keep more components than a
    cross-validation fold has training rows)."""

    n_features: int
    max_kept: int

    def params(self) -> list[Param]:
        low, default, high = REDUCED_FEATURES
        high = max(1, min(high, self.max_kept))
        low, default = min(low, high), min(default, high)
        return [_c(REDUCTION_PARAM, REDUCTIONS, REDUCTIONS[0]),
                _i(REDUCED_FEATURES_PARAM, low, high, default, log=True)]

    def spec(self, name: str, kept: int, task: str) -> dict[str, Any]:
        if name == "pca":
            return {"name": "pca", "params": {"n_components": int(kept),
                                              "svd_solver": "randomized"}}
        score = "f_classif" if task == "classification" else "f_regression"
        percentile = min(100.0, 100.0 * int(kept) / self.n_features)
        return {"name": "select_percentile",
                "params": {"percentile": percentile, "score_func": score}}


def wide_reduction(n_samples: int | None, n_features: int | None) -> Reduction | None:
    """The reduction a table of this shape searches, or None (more rows than columns, or at most
    :data:`WIDE_MIN_FEATURES` columns: the space stays as it was)."""
    if not n_samples or not n_features:
        return None
    if n_features <= WIDE_MIN_FEATURES or n_features <= n_samples:
        return None
    return Reduction(n_features=int(n_features), max_kept=max(1, int(n_samples) // 2))


@dataclass
class SearchSpace:
    """The space of one study: which algorithms, their parameters, and the imputer choice."""

    task: str
    algorithms: tuple[str, ...]
    params: dict[str, list[Param]]
    impute: bool = True  # False when the data has no missing values: the imputer is moot
    meta: dict[str, Any] = field(default_factory=dict)
    reduction: Reduction | None = None  # searched on wide tables only (see wide_reduction)

    def reduction_params(self) -> list[Param]:
        return self.reduction.params() if self.reduction is not None else []

    # -- distributions ------------------------------------------------------------------------
    def distributions(self) -> dict[str, Any]:
        """Every parameter name the study can see, with its distribution."""
        from optuna.distributions import CategoricalDistribution

        out: dict[str, Any] = {ALGORITHM_PARAM: CategoricalDistribution(list(self.algorithms))}
        if self.impute:
            out[IMPUTER_PARAM] = CategoricalDistribution(list(SEARCHED_IMPUTERS))
            if any(ALGORITHMS[a].handles_missing for a in self.algorithms):
                out[NATIVE_IMPUTER_PARAM] = CategoricalDistribution(
                    ["native", *SEARCHED_IMPUTERS])
        for p in self.reduction_params():
            out[p.name] = p.distribution()
        for algorithm, params in self.params.items():
            for p in params:
                out[f"{algorithm}:{p.name}"] = p.distribution()
        return out

    def _imputer_param(self, algorithm: str) -> str:
        return NATIVE_IMPUTER_PARAM if ALGORITHMS[algorithm].handles_missing else IMPUTER_PARAM

    def restricted(self, algorithms: Iterable[str]) -> SearchSpace:
        """The same space over only ``algorithms`` (those this space has; its order kept)."""
        keep = set(algorithms)
        chosen = tuple(a for a in self.algorithms if a in keep)
        if not chosen:
            raise ValueError("a search space needs at least one of its algorithms")
        return SearchSpace(self.task, chosen, {a: self.params[a] for a in chosen},
                           impute=self.impute, meta={**self.meta, "restricted": True},
                           reduction=self.reduction)

    # -- trial -> spec ------------------------------------------------------------------------
    def suggest(self, trial: Any) -> dict[str, Any]:
        """Ask ``trial`` for a point of the space and return it as a normalised spec."""
        algorithm = trial.suggest_categorical(ALGORITHM_PARAM, list(self.algorithms))
        params: dict[str, Any] = {ALGORITHM_PARAM: algorithm}
        if self.impute:
            name = self._imputer_param(algorithm)
            choices = SEARCHED_IMPUTERS if name == IMPUTER_PARAM else ("native", *SEARCHED_IMPUTERS)
            params[name] = trial.suggest_categorical(name, list(choices))
        for p in self.reduction_params():
            params[p.name] = _suggest(trial, p.name, p)
        for p in self.params[algorithm]:
            if p.only_if and params.get(f"{algorithm}:{p.only_if[0]}") not in p.only_if[1]:
                continue
            key = f"{algorithm}:{p.name}"
            params[key] = _suggest(trial, key, p)
        return self.params_to_spec(params)

    def params_to_spec(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """Turn trial parameters (as :meth:`suggest` or ``FrozenTrial.params`` hold them) into a
        normalised spec for :func:`metarec.pipelines.build`."""
        algorithm = params[ALGORITHM_PARAM]
        hp: dict[str, Any] = {}
        for p in self.params[algorithm]:
            key = f"{algorithm}:{p.name}"
            if key in params:
                hp[p.name] = params[key]
        hp = _to_estimator_units(algorithm, hp)
        hp.update(FIXED.get(algorithm, {}))
        imputer = params.get(self._imputer_param(algorithm)) if self.impute else None
        reduce = None
        if self.reduction is not None:
            defaults = {p.name: p.default for p in self.reduction_params()}
            reduce = self.reduction.spec(
                params.get(REDUCTION_PARAM, defaults[REDUCTION_PARAM]),
                params.get(REDUCED_FEATURES_PARAM, defaults[REDUCED_FEATURES_PARAM]), self.task)
        return normalize_spec({"task": self.task, "algorithm": algorithm,
                               "hyperparameters": hp, "imputer": imputer,
                               "feature_preprocessor": reduce})

    # -- spec -> trial parameters -------------------------------------------------------------
    def spec_to_params(
        self, spec: Mapping[str, Any], n_samples: int | None = None, n_features: int | None = None
    ) -> dict[str, Any] | None:
        """Map a spec (e.g. a recommendation's) to parameters of this space, clipped to bounds;
        None when its algorithm is not searched here."""
        algorithm = spec.get("algorithm")
        if algorithm not in self.algorithms:
            return None
        n = n_samples or _DEFAULT_N_SAMPLES
        p_count = max(1, n_features or _DEFAULT_N_FEATURES)
        given = _from_estimator_units(algorithm, dict(spec.get("hyperparameters") or {}), n,
                                      p_count)
        out: dict[str, Any] = {ALGORITHM_PARAM: algorithm}
        if self.impute:
            out[self._imputer_param(algorithm)] = self._imputer_choice(algorithm, spec)
        # A recommendation is tried reduced too, with the default reduction: on a wide table its
        # own pipeline on every column is what makes a trial take minutes.
        for p in self.reduction_params():
            out[p.name] = p.default
        for p in self.params[algorithm]:
            if p.only_if:
                other = out.get(f"{algorithm}:{p.only_if[0]}")
                if other not in p.only_if[1]:
                    continue
            out[f"{algorithm}:{p.name}"] = p.clip(given.get(p.name, p.default))
        return out

    def _imputer_choice(self, algorithm: str, spec: Mapping[str, Any]) -> str:
        imputer = spec.get("imputer")
        name = imputer.get("name") if isinstance(imputer, Mapping) else imputer
        name = _IMPUTER_FALLBACK.get(str(name), name)
        native = ALGORITHMS[algorithm].handles_missing
        allowed = ("native", *SEARCHED_IMPUTERS) if native else SEARCHED_IMPUTERS
        if name in allowed:
            return str(name)
        return "native" if native else "mean"


def _suggest(trial: Any, name: str, p: Param) -> Any:
    if p.kind == "categorical":
        return trial.suggest_categorical(name, list(p.choices))
    if p.kind == "int":
        return trial.suggest_int(name, int(p.low), int(p.high), log=p.log)
    return trial.suggest_float(name, float(p.low), float(p.high), log=p.log)


def _first(value: Any) -> Any:
    return value[0] if isinstance(value, (list, tuple)) and value else value


def _from_estimator_units(algorithm: str, hp: dict[str, Any], n: int, p: int) -> dict[str, Any]:
    """Rewrite hyperparameters given in estimator units into this space's units."""
    out = dict(hp)
    mf = out.get("max_features", "__absent__")
    if mf != "__absent__":
        if mf in ("sqrt", "auto"):
            out["max_features"] = math.sqrt(p) / p
        elif mf == "log2":
            out["max_features"] = max(1.0, math.log2(p)) / p
        elif mf is None:
            out["max_features"] = 1.0
        elif isinstance(mf, int) and not isinstance(mf, bool) and mf > 1:
            out["max_features"] = min(1.0, mf / p)
    mss = out.get("min_samples_split")
    if isinstance(mss, float) and 0.0 < mss < 1.0:
        out["min_samples_split"] = max(2, math.ceil(mss * n))
    if algorithm == "decision_tree" and "max_depth" in out and out["max_depth"] is None:
        out["max_depth"] = 32
    if algorithm == "svm" and out.get("gamma") in ("auto", "scale"):
        # Features are standardised before the SVM, so 'scale' and 'auto' both mean 1/p.
        out["gamma"] = 1.0 / p
    if algorithm == "mlp" and "hidden_layer_sizes" in out:
        sizes = out.pop("hidden_layer_sizes")
        sizes = list(sizes) if isinstance(sizes, (list, tuple)) else [sizes]
        out["hidden_units"] = _first(sizes)
        out["hidden_layers"] = len(sizes)
    if algorithm == "lda":
        shrinkage = out.get("shrinkage")
        # Ledoit-Wolf's 'auto' has no fixed value; mid-range is the neutral point of the space.
        out["shrinkage"] = 0.5 if shrinkage == "auto" else (shrinkage or 0.0)
    return out


def _to_estimator_units(algorithm: str, hp: dict[str, Any]) -> dict[str, Any]:
    out = dict(hp)
    if algorithm == "mlp" and "hidden_units" in out:
        out["hidden_layer_sizes"] = [int(out.pop("hidden_units"))] * int(
            out.pop("hidden_layers", 1))
    if algorithm == "lda" and out.get("shrinkage", 0.0) == 0.0:
        out.pop("shrinkage", None)
    return out


# -- knowledge-base informed bounds -----------------------------------------------------------
def kb_ranges(configurations: Any) -> dict[tuple[str, str, str], tuple[float, float]]:
    """Per (task, algorithm, hyperparameter): the range of the numeric values the knowledge
    base's configurations use. The whole range, not a central part: a recommended configuration
    clipped to a narrower space would not be the configuration recommended (the hard limits of
    each parameter keep outliers from blowing the space up)."""
    import numpy as np

    values: dict[tuple[str, str, str], list[float]] = {}
    frame = configurations[["task_type", "algorithm", "hyperparameters"]]
    for task, algorithm, text in frame.itertuples(index=False):
        try:
            hp = json.loads(text) if isinstance(text, str) else {}
        except json.JSONDecodeError:
            continue
        for name, value in hp.items():
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                values.setdefault((str(task), str(algorithm), name), []).append(float(value))
    out = {}
    for key, vals in values.items():
        arr = np.asarray(vals)
        arr = arr[np.isfinite(arr)]
        if arr.size:
            out[key] = (float(arr.min()), float(arr.max()))
    return out


def _widen(param: Param, kb: tuple[float, float] | None) -> Param:
    if kb is None or param.kind == "categorical" or param.hard is None:
        return param
    hard_lo, hard_hi = param.hard
    lo, hi = kb
    # Values outside the hard limits are in other units (fractions of rows, exponents): ignored.
    if hi < hard_lo or lo > hard_hi:
        return param
    lo, hi = max(lo, hard_lo), min(hi, hard_hi)
    if param.log:
        lo = max(lo, hard_lo if hard_lo > 0 else param.low)
    low, high = min(param.low, lo), max(param.high, hi)
    if param.kind == "int":
        low, high = math.floor(low), math.ceil(high)
    return replace(param, low=low, high=high)


@lru_cache(maxsize=4)
def _cached_kb_ranges(kb_path: str) -> dict[tuple[str, str, str], tuple[float, float]]:
    from metarec import kb as kb_module

    return kb_ranges(kb_module.load(kb_path).configurations)


def default_algorithms(task: str) -> tuple[str, ...]:
    return tuple(
        name for name, algo in sorted(ALGORITHMS.items())
        if getattr(algo, task) is not None and name not in EXCLUDED_ALGORITHMS
    )


def build_space(
    task: str,
    has_missing: bool = True,
    ranges: Mapping[tuple[str, str, str], tuple[float, float]] | None = None,
    algorithms: Iterable[str] | None = None,
    n_samples: int | None = None,
    n_features: int | None = None,
) -> SearchSpace:
    """The search space for ``task``; ``ranges`` (see :func:`kb_ranges`) widens the bounds. With
    the data's shape, a table far wider than long also searches a reduction
    (:func:`wide_reduction`)."""
    if task not in ("classification", "regression"):
        raise ValueError(f"unknown task {task!r}")
    chosen = tuple(algorithms) if algorithms is not None else default_algorithms(task)
    params = {
        a: [_widen(p, (ranges or {}).get((task, a, p.name))) for p in _algorithm_params(a, task)]
        for a in chosen
    }
    return SearchSpace(task, chosen, params, impute=has_missing,
                       meta={"kb_informed": bool(ranges)},
                       reduction=wide_reduction(n_samples, n_features))


def space_for(task: str, has_missing: bool = True, kb: Any = None,
              n_samples: int | None = None, n_features: int | None = None) -> SearchSpace:
    """:func:`build_space` with bounds from a knowledge base: ``kb`` is a loaded
    :class:`~metarec.kb.KnowledgeBase`, a path, or None for defaults only."""
    ranges = None
    if kb is not None:
        if hasattr(kb, "configurations"):
            ranges = kb_ranges(kb.configurations)
        else:
            ranges = _cached_kb_ranges(str(kb))
    return build_space(task, has_missing=has_missing, ranges=ranges, n_samples=n_samples,
                       n_features=n_features)


__all__ = [
    "ALGORITHM_PARAM", "FIXED", "Param", "Reduction", "SearchSpace", "build_space",
    "default_algorithms", "kb_ranges", "space_for", "wide_reduction",
]
