"""Pipeline specifications: the JSON-friendly description of a model that the knowledge base stores.

A spec is a plain dict, so it can live in Parquet/JSON and travel through ``--json`` output::

    {"task": "classification", "algorithm": "random_forest",
     "hyperparameters": {"n_estimators": 100, "max_features": 0.5},
     "imputer": "median" | {"name": "knn", "params": {"n_neighbors": 5}},
     "categorical": {"imputer": "most_frequent", "encoder": "onehot", "min_frequency": None},
     "scaler": "standard" | {"name": "robust", "params": {...}},
     "feature_preprocessor": None | {"name": "pca", "params": {...}},
     "one_vs_rest": False}

:func:`normalize_spec` fills every default (including the categorical companion of the chosen
numeric imputer) so that the stored spec says exactly what :func:`build` will construct, with one
exception that holds for every spec alike: :data:`ITERATION_BOUNDS`, the finite iteration limits
:func:`build` gives estimators whose library default has none.
Class names are resolved only from the registries below (never from strings given by a user).
"""

from __future__ import annotations

import copy
import importlib
import inspect
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from metarec.errors import MetaRecError

SPEC_VERSION = 1


class PipelineSpecError(MetaRecError, ValueError):
    """A pipeline spec names something unknown or asks for an impossible combination."""


@dataclass(frozen=True)
class Algorithm:
    classification: str | None
    regression: str | None
    handles_missing: bool = False  # estimator accepts NaN itself ("native" imputation)
    scale: bool = False  # scale numeric inputs unless the spec says otherwise
    nonnegative_input: bool = False  # e.g. multinomial NB: negative inputs are clipped to 0


_SK = "sklearn."
ALGORITHMS: dict[str, Algorithm] = {
    "adaboost": Algorithm(_SK + "ensemble.AdaBoostClassifier", _SK + "ensemble.AdaBoostRegressor"),
    "ard_regression": Algorithm(None, _SK + "linear_model.ARDRegression", scale=True),
    "bernoulli_nb": Algorithm(_SK + "naive_bayes.BernoulliNB", None),
    # Penalised linear regressions (the regression run campaign's linear family).
    "elastic_net": Algorithm(None, _SK + "linear_model.ElasticNet", scale=True),
    "lasso": Algorithm(None, _SK + "linear_model.Lasso", scale=True),
    "ridge": Algorithm(None, _SK + "linear_model.Ridge", scale=True),
    "decision_tree": Algorithm(
        _SK + "tree.DecisionTreeClassifier", _SK + "tree.DecisionTreeRegressor"
    ),
    "extra_trees": Algorithm(
        _SK + "ensemble.ExtraTreesClassifier", _SK + "ensemble.ExtraTreesRegressor"
    ),
    "gaussian_nb": Algorithm(_SK + "naive_bayes.GaussianNB", None),
    "gaussian_process": Algorithm(
        None, _SK + "gaussian_process.GaussianProcessRegressor", scale=True
    ),
    # sklearn's classic (exact) gradient boosting, as Oboe ran it.
    "gradient_boosting": Algorithm(
        _SK + "ensemble.GradientBoostingClassifier", _SK + "ensemble.GradientBoostingRegressor"
    ),
    # auto-sklearn's "gradient_boosting" is the histogram-based implementation.
    "hist_gradient_boosting": Algorithm(
        _SK + "ensemble.HistGradientBoostingClassifier",
        _SK + "ensemble.HistGradientBoostingRegressor",
        handles_missing=True,
    ),
    "k_nearest_neighbors": Algorithm(
        _SK + "neighbors.KNeighborsClassifier", _SK + "neighbors.KNeighborsRegressor", scale=True
    ),
    "lda": Algorithm(_SK + "discriminant_analysis.LinearDiscriminantAnalysis", None),
    "lightgbm": Algorithm(
        "lightgbm.LGBMClassifier", "lightgbm.LGBMRegressor", handles_missing=True
    ),
    "linear_svm": Algorithm(_SK + "svm.LinearSVC", _SK + "svm.LinearSVR", scale=True),
    "logistic_regression": Algorithm(_SK + "linear_model.LogisticRegression", None, scale=True),
    "mlp": Algorithm(
        _SK + "neural_network.MLPClassifier", _SK + "neural_network.MLPRegressor", scale=True
    ),
    "multinomial_nb": Algorithm(_SK + "naive_bayes.MultinomialNB", None, nonnegative_input=True),
    "perceptron": Algorithm(_SK + "linear_model.Perceptron", None, scale=True),
    "qda": Algorithm(_SK + "discriminant_analysis.QuadraticDiscriminantAnalysis", None),
    "random_forest": Algorithm(
        _SK + "ensemble.RandomForestClassifier", _SK + "ensemble.RandomForestRegressor"
    ),
    "sgd": Algorithm(
        _SK + "linear_model.SGDClassifier", _SK + "linear_model.SGDRegressor", scale=True
    ),
    "svm": Algorithm(_SK + "svm.SVC", _SK + "svm.SVR", scale=True),
}

# Numeric imputers: name -> default parameters. "native" leaves NaN for estimators that handle it.
IMPUTERS: dict[str, dict[str, Any]] = {
    "mean": {"strategy": "mean"},
    "median": {"strategy": "median"},
    "most_frequent": {"strategy": "most_frequent"},
    "constant": {"strategy": "constant", "fill_value": 0.0, "add_indicator": True},
    "knn": {"n_neighbors": 5, "weights": "uniform"},
    "iterative": {"max_iter": 10, "sample_posterior": False},
    "native": {},
}

SCALERS: dict[str, str | None] = {
    "none": None,
    "standard": _SK + "preprocessing.StandardScaler",
    "minmax": _SK + "preprocessing.MinMaxScaler",
    "robust": _SK + "preprocessing.RobustScaler",
    "quantile": _SK + "preprocessing.QuantileTransformer",
    "power": _SK + "preprocessing.PowerTransformer",
    "normalize": _SK + "preprocessing.Normalizer",
}

FEATURE_PREPROCESSORS: dict[str, str] = {
    "pca": _SK + "decomposition.PCA",
    "fast_ica": _SK + "decomposition.FastICA",
    "kernel_pca": _SK + "decomposition.KernelPCA",
    "feature_agglomeration": "metarec.pipelines.CappedFeatureAgglomeration",
    "kitchen_sinks": _SK + "kernel_approximation.RBFSampler",
    "nystroem": _SK + "kernel_approximation.Nystroem",
    "polynomial": _SK + "preprocessing.PolynomialFeatures",
    "select_percentile": "metarec.pipelines.KeepOneSelectPercentile",
    "select_rates": "metarec.pipelines.KeepOneGenericUnivariateSelect",
    "select_from_model": _SK + "feature_selection.SelectFromModel",
    "random_trees_embedding": _SK + "ensemble.RandomTreesEmbedding",
}

SCORE_FUNCS = {
    "chi2": _SK + "feature_selection.chi2",
    "f_classif": _SK + "feature_selection.f_classif",
    "mutual_info_classif": _SK + "feature_selection.mutual_info_classif",
    "f_regression": _SK + "feature_selection.f_regression",
    "mutual_info_regression": _SK + "feature_selection.mutual_info_regression",
}
POOLING_FUNCS = {"mean": np.mean, "median": np.median, "max": np.max}
CATEGORICAL_ENCODERS = ("onehot", "ordinal")

# Iteration limits every estimator :func:`build` makes carries, wherever it is then fitted (a
# tuning trial, the untuned fit of a recommendation, `kb add`, a user's own code): a value the
# spec leaves unset or unlimited (libsvm's -1) becomes the bound, and a larger one is lowered to
# it. libsvm has no limit by default: a polynomial kernel with a large C and gamma ran for over 30
# minutes on 500 rows without converging, and MetaRecClassifier(n_trials=0), fitting such a
# recommendation untuned, did not finish one CV fold in 14 minutes on 898 rows x 38 columns (0.7 s
# with the bound). A million iterations takes about a second there and is far more than
# converging settings need at these sizes.
ITERATION_BOUNDS: dict[str, dict[str, int]] = {"svm": {"max_iter": 1_000_000}}


def _resolve(dotted: str) -> Any:
    module, _, name = dotted.rpartition(".")
    return getattr(importlib.import_module(module), name)


def _named(value: str | Mapping[str, Any] | None, kind: str) -> dict[str, Any]:
    if value is None:
        return {"name": "none", "params": {}}
    if isinstance(value, str):
        return {"name": value, "params": {}}
    if isinstance(value, Mapping) and "name" in value:
        return {"name": str(value["name"]), "params": dict(value.get("params") or {})}
    raise PipelineSpecError(f"the {kind} must be a name or {{'name': ..., 'params': {{...}}}}.")


def normalize_spec(spec: Mapping[str, Any]) -> dict[str, Any]:
    """Return a complete copy of ``spec`` with every default made explicit."""
    spec = copy.deepcopy(dict(spec))
    task = spec.get("task", "classification")
    if task not in ("classification", "regression"):
        raise PipelineSpecError(f"unknown task {task!r}; use 'classification' or 'regression'.")
    name = spec.get("algorithm")
    if name not in ALGORITHMS:
        raise PipelineSpecError(
            f"unknown algorithm {name!r}; known algorithms: {', '.join(sorted(ALGORITHMS))}."
        )
    algo = ALGORITHMS[name]
    if getattr(algo, task) is None:
        raise PipelineSpecError(f"algorithm {name!r} has no {task} variant.")

    default_imputer = "native" if algo.handles_missing else "mean"
    imputer = _named(spec.get("imputer") or default_imputer, "imputer")
    if imputer["name"] not in IMPUTERS:
        raise PipelineSpecError(
            f"unknown imputer {imputer['name']!r}; known imputers: {', '.join(IMPUTERS)}."
        )
    if imputer["name"] == "native" and not algo.handles_missing:
        raise PipelineSpecError(
            f"imputer 'native' needs an estimator that handles missing values, not {name!r}."
        )
    imputer["params"] = {**IMPUTERS[imputer["name"]], **imputer["params"]}

    scaler = _named(spec.get("scaler", "standard" if algo.scale else "none"), "scaler")
    if scaler["name"] not in SCALERS:
        raise PipelineSpecError(f"unknown scaler {scaler['name']!r}.")

    fp = spec.get("feature_preprocessor")
    if fp is not None:
        fp = _named(fp, "feature preprocessor")
        if fp["name"] == "none":
            fp = None
        elif fp["name"] not in FEATURE_PREPROCESSORS:
            raise PipelineSpecError(f"unknown feature preprocessor {fp['name']!r}.")

    spec.update(
        spec_version=SPEC_VERSION,
        task=task,
        hyperparameters=dict(spec.get("hyperparameters") or {}),
        imputer=imputer,
        scaler=scaler,
        feature_preprocessor=fp,
        # Old scikit-learn fitted some linear models one-vs-rest; liblinear still only can.
        one_vs_rest=bool(spec.get("one_vs_rest", False)) and task == "classification",
        categorical=_categorical_companion(imputer["name"], spec.get("categorical")),
    )
    return spec


def _categorical_companion(imputer: str, given: Mapping[str, Any] | None) -> dict[str, Any]:
    # Numeric strategies (mean, median, knn, iterative) mean nothing for categories, so categorical
    # columns get the closest sensible counterpart; the choice is written into the spec.
    if imputer == "native":
        default: dict[str, Any] = {"imputer": "native", "encoder": "ordinal"}
    elif imputer == "constant":
        default = {"imputer": "constant", "encoder": "onehot"}
    else:
        default = {"imputer": "most_frequent", "encoder": "onehot"}
    default["min_frequency"] = None
    out = {**default, **dict(given or {})}
    if out["encoder"] not in CATEGORICAL_ENCODERS:
        raise PipelineSpecError(f"unknown categorical encoder {out['encoder']!r}.")
    if out["imputer"] not in ("native", "most_frequent", "constant"):
        raise PipelineSpecError(f"unknown categorical imputer {out['imputer']!r}.")
    return out


def _as_object(X: Any) -> Any:
    # A pandas categorical cannot take a fill value outside its categories; plain objects can.
    return X.astype(object).where(X.notna(), np.nan) if hasattr(X, "astype") else X


def _numeric_imputer(imputer: Mapping[str, Any]) -> Any:
    name, params = imputer["name"], dict(imputer["params"])
    if name == "knn":
        from sklearn.impute import KNNImputer

        return KNNImputer(**params)
    if name == "iterative":
        from sklearn.experimental import enable_iterative_imputer  # noqa: F401
        from sklearn.impute import IterativeImputer

        return IterativeImputer(random_state=0, **params)
    from sklearn.impute import SimpleImputer

    return SimpleImputer(**params)


def _categorical_steps(cat: Mapping[str, Any]) -> list[tuple[str, Any]]:
    from sklearn.impute import SimpleImputer
    from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, OrdinalEncoder

    steps: list[tuple[str, Any]] = [
        ("to_object", FunctionTransformer(_as_object, feature_names_out="one-to-one"))
    ]
    if cat["imputer"] == "most_frequent":
        steps.append(("impute", SimpleImputer(strategy="most_frequent")))
    elif cat["imputer"] == "constant":
        steps.append(("impute", SimpleImputer(strategy="constant", fill_value="__missing__")))
    if cat["encoder"] == "onehot":
        encoder = OneHotEncoder(
            handle_unknown="infrequent_if_exist",
            min_frequency=cat.get("min_frequency"),
            sparse_output=False,
        )
    else:
        encoder = OrdinalEncoder(
            handle_unknown="use_encoded_value",
            unknown_value=np.nan,
            encoded_missing_value=np.nan,
        )
    steps.append(("encode", encoder))
    return steps


def _scaler(scaler: Mapping[str, Any]) -> Any:
    dotted = SCALERS[scaler["name"]]
    params = dict(scaler["params"])
    if "quantile_range" in params:  # JSON has lists; scikit-learn insists on a tuple
        params["quantile_range"] = tuple(params["quantile_range"])
    return None if dotted is None else _resolve(dotted)(**params)


def _accepts(cls: type, param: str) -> bool:
    return param in inspect.signature(cls.__init__).parameters


def estimator_accepts(algorithm: str, task: str, param: str) -> bool:
    """Whether ``algorithm``'s estimator for ``task`` takes the constructor argument ``param``."""
    info = ALGORITHMS.get(algorithm)
    dotted = getattr(info, task, None) if info is not None else None
    return dotted is not None and _accepts(_resolve(dotted), param)


def _estimator(spec: Mapping[str, Any], random_state: int | None) -> Any:
    task = spec["task"]
    cls = _resolve(getattr(ALGORITHMS[spec["algorithm"]], task))
    params = dict(spec["hyperparameters"])
    name = spec["algorithm"]
    if name == "adaboost" and "max_depth" in params:
        # Stored as the depth of the boosted tree, so the spec stays plain JSON.
        tree = _resolve(getattr(ALGORITHMS["decision_tree"], task))
        params["estimator"] = tree(max_depth=params.pop("max_depth"))
    if name == "gaussian_process" and "length_scale_bounds" in params:
        from sklearn.gaussian_process.kernels import RBF

        low, high = params.pop("length_scale_bounds")
        params["kernel"] = RBF(length_scale=1.0, length_scale_bounds=(low, high))
    if "hidden_layer_sizes" in params:
        params["hidden_layer_sizes"] = tuple(params["hidden_layer_sizes"])
    if name == "lightgbm":
        params.setdefault("verbose", -1)
        # LightGBM's default (n_jobs=None) takes every physical core and ignores
        # OMP_NUM_THREADS, so parallel CV folds or cooperating tune processes oversubscribe the
        # machine. On 2 cores, two processes cross-validating LightGBM at once took 2.9 s per
        # 5-fold CV with the default against 1.0 s with one thread each (alone: 0.8 s against
        # 1.0 s). One thread per fit, like scikit-learn's estimators: parallelism is n_jobs's.
        params.setdefault("n_jobs", 1)
    if name == "qda" and "solver" not in params and _accepts(cls, "solver"):
        # scikit-learn's QDA now refuses, whatever reg_param, any class with no more rows than
        # features under its default SVD solver (a third of a 50-trial study on such data
        # failed). The eigen solver's shrinkage (towards the identity on standardised
        # features) is the regularisation it offers instead; reg_param's value is used as it.
        reg_param = float(params.pop("reg_param", 0.0) or 0.0)
        params["solver"] = "eigen"
        if reg_param > 0.0 and "covariance_estimator" not in params:
            params.setdefault("shrinkage", reg_param)
    for param, bound in ITERATION_BOUNDS.get(name, {}).items():
        given = params.get(param)
        params[param] = bound if given is None or given <= 0 else min(int(given), bound)
    if random_state is not None and "random_state" not in params and _accepts(cls, "random_state"):
        params["random_state"] = random_state
    return cls(**params)


def _feature_preprocessor(fp: Mapping[str, Any], task: str, random_state: int | None) -> Any:
    cls = _resolve(FEATURE_PREPROCESSORS[fp["name"]])
    params = dict(fp["params"])
    if "score_func" in params:
        if params["score_func"] not in SCORE_FUNCS:
            raise PipelineSpecError(f"unknown score function {params['score_func']!r}.")
        params["score_func"] = _resolve(SCORE_FUNCS[params["score_func"]])
    if "pooling_func" in params:
        params["pooling_func"] = POOLING_FUNCS[params["pooling_func"]]
    if fp["name"] == "select_from_model":
        inner = normalize_spec({"task": task, **params.pop("estimator")})
        params["estimator"] = _estimator(inner, random_state)
    if random_state is not None and "random_state" not in params and _accepts(cls, "random_state"):
        params["random_state"] = random_state
    return cls(**params)


def build(spec: Mapping[str, Any], random_state: int | None = 0) -> Any:
    """Turn a spec into an unfitted :class:`sklearn.pipeline.Pipeline` for a pandas DataFrame."""
    from sklearn.compose import ColumnTransformer, make_column_selector
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import FunctionTransformer

    spec = normalize_spec(spec)
    numeric: list[tuple[str, Any]] = []
    if spec["imputer"]["name"] != "native":
        numeric.append(("impute", _numeric_imputer(spec["imputer"])))
    scaler = _scaler(spec["scaler"])
    if scaler is not None:
        numeric.append(("scale", scaler))
    columns = ColumnTransformer(
        [
            ("numeric", Pipeline(numeric) if numeric else "passthrough",
             make_column_selector(dtype_include="number")),
            ("categorical", Pipeline(_categorical_steps(spec["categorical"])),
             make_column_selector(dtype_exclude="number")),
        ],
        remainder="drop",
        verbose_feature_names_out=False,
    )
    steps: list[tuple[str, Any]] = [("columns", columns)]
    fp = spec["feature_preprocessor"]
    needs_nonnegative = ALGORITHMS[spec["algorithm"]].nonnegative_input or (
        fp is not None and fp["params"].get("score_func") == "chi2"
    )
    if fp is not None and needs_nonnegative and fp["name"].startswith("select"):
        steps.append(("clip_negative", FunctionTransformer(_clip_negative)))
    if fp is not None:
        steps.append(("features", _feature_preprocessor(fp, spec["task"], random_state)))
    if ALGORITHMS[spec["algorithm"]].nonnegative_input:
        steps.append(("clip_negative_model", FunctionTransformer(_clip_negative)))
    model = _estimator(spec, random_state)
    if spec["one_vs_rest"]:
        from sklearn.multiclass import OneVsRestClassifier

        model = OneVsRestClassifier(model)
    steps.append(("model", model))
    return Pipeline(steps)


def _clip_negative(X: Any) -> Any:
    # chi2 and multinomial NB reject negative inputs; auto-sklearn clipped them to zero as well.
    return np.maximum(np.asarray(X, dtype=float), 0.0)


def _capped_agglomeration() -> type:
    from sklearn.cluster import FeatureAgglomeration

    class CappedFeatureAgglomeration(FeatureAgglomeration):
        """FeatureAgglomeration that asks for at most as many clusters as there are features."""

        def fit(self, X: Any, y: Any = None) -> CappedFeatureAgglomeration:
            wanted = self.n_clusters
            self.n_clusters = min(int(wanted), np.shape(X)[1])
            try:
                return super().fit(X, y)
            finally:
                self.n_clusters = wanted

    CappedFeatureAgglomeration.__module__ = __name__
    return CappedFeatureAgglomeration


def _keep_one(base_name: str) -> type:
    from sklearn import feature_selection

    base = getattr(feature_selection, base_name)

    class KeepOne(base):  # type: ignore[misc, valid-type]
        """Univariate selection that keeps the best feature when none passes the test.

        auto-sklearn's wrappers raised an error in that case, which made whole pipelines fail on
        datasets without a significant feature; keeping the single best one is the useful reading.
        """

        def _get_support_mask(self) -> Any:
            mask = super()._get_support_mask()
            if not mask.any():
                mask = np.zeros_like(mask)
                mask[int(np.nanargmax(np.nan_to_num(self.scores_, nan=-np.inf)))] = True
            return mask

    KeepOne.__name__ = KeepOne.__qualname__ = f"KeepOne{base_name}"
    KeepOne.__module__ = __name__
    return KeepOne


_LAZY_CLASSES = {
    "CappedFeatureAgglomeration": _capped_agglomeration,
    "KeepOneSelectPercentile": lambda: _keep_one("SelectPercentile"),
    "KeepOneGenericUnivariateSelect": lambda: _keep_one("GenericUnivariateSelect"),
}


def __getattr__(name: str) -> Any:
    # Defined lazily so that importing this module does not import scikit-learn.
    if name in _LAZY_CLASSES:
        cls = _LAZY_CLASSES[name]()
        globals()[name] = cls
        return cls
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
