"""auto-sklearn's meta-data (ASlib scenarios): the best pipeline SMAC found per dataset and metric.

Each ``<metric>_<task>_dense`` folder holds ``configurations.csv`` (full auto-sklearn pipeline
configurations), ``algorithm_runs.arff`` (loss of a configuration on a dataset) and
``feature_values.arff`` (auto-sklearn's own meta-features). Datasets are named, not numbered.
The binary and multiclass folders of one metric are identical; duplicates collapse.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from metarec import pipelines
from metarec.kb.importers._common import ImportResult, configuration_row, read_arff_frame

SOURCE = "autosklearn"
FOLDER = "runs/autosklearn"
# auto-sklearn fits forests, boosting and MLPs iteratively up to this many trees/iterations/epochs.
MAX_ITER = 512
# Its forests draw n_features ** v features; stated as a fraction for a typical 30-feature dataset.
TYPICAL_N_FEATURES = 30
ALREADY_LOSSES = {"log_loss", "root_mean_squared_error", "mean_absolute_error"}

ALGORITHM = {
    "gradient_boosting": "hist_gradient_boosting",
    "liblinear_svc": "linear_svm",
    "liblinear_svr": "linear_svm",
    "libsvm_svc": "svm",
    "libsvm_svr": "svm",
    "passive_aggressive": "sgd",
}
SCALER = {
    "none": "none", "minmax": "minmax", "standardize": "standard", "normalize": "normalize",
    "robust_scaler": "robust", "quantile_transformer": "quantile", "power_transformer": "power",
}
# friedman_mse is deprecated for forests in scikit-learn 1.9 and maps to squared_error anyway.
CRITERION = {"mse": "squared_error", "mae": "absolute_error", "friedman_mse": "squared_error"}
SCORE_FUNC = {"mutual_info": "mutual_info_classif"}


def _literal(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return ast.literal_eval(value)
        except (ValueError, SyntaxError):
            return value
    if isinstance(value, np.generic):
        return value.item()
    return value


def _part(config: dict[str, Any], prefix: str) -> dict[str, Any]:
    return {k[len(prefix):]: v for k, v in config.items() if k.startswith(prefix)}


def _forest(hp: dict[str, Any], notes: list[str]) -> dict[str, Any]:
    v = float(hp["max_features"])
    hp["max_features"] = "sqrt" if v == 0.5 else round(min(1.0, TYPICAL_N_FEATURES ** (v - 1)), 4)
    notes.append(
        f"max_features is an exponent in auto-sklearn (n_features ** {v:.3g}); "
        f"stated as {hp['max_features']!r} for {TYPICAL_N_FEATURES} features"
    )
    hp["n_estimators"] = MAX_ITER
    notes.append(f"n_estimators={MAX_ITER}, the most auto-sklearn grows iteratively")
    return hp


def _classifier_or_regressor(
    name: str, hp: dict[str, Any], task: str, notes: list[str]
) -> dict[str, Any]:
    hp = {k: v for k, v in hp.items() if v is not None}
    if "criterion" in hp and task == "regression":
        hp["criterion"] = CRITERION[hp["criterion"]]
    if name in ("decision_tree",):
        if hp.pop("max_depth_factor", None) is not None:
            notes.append("max_depth_factor (relative to n_features) dropped: max_depth=None")
    if name in ("random_forest", "extra_trees"):
        hp = _forest(hp, notes)
    if name == "adaboost" and hp.pop("algorithm", None) == "SAMME.R":
        notes.append("algorithm 'SAMME.R' was removed in scikit-learn 1.6: SAMME")
    if name == "gradient_boosting":
        early = hp.pop("early_stop")
        hp["early_stopping"] = early != "off"
        if early != "valid":
            hp.pop("validation_fraction", None)
        if early == "train":
            hp["validation_fraction"] = None
        hp["loss"] = "log_loss" if task == "classification" else "squared_error"
        hp["max_iter"] = MAX_ITER
        notes.append(f"histogram gradient boosting; loss auto/least_squares renamed; "
                     f"max_iter={MAX_ITER}")
    if name == "mlp":
        depth, width = int(hp.pop("hidden_layer_depth")), int(hp.pop("num_nodes_per_layer"))
        hp["hidden_layer_sizes"] = [width] * depth
        hp["early_stopping"] = hp.pop("early_stopping") == "valid"
        if not hp["early_stopping"]:
            hp.pop("validation_fraction", None)
        hp["max_iter"] = MAX_ITER
        notes.append(f"hidden_layer_depth x num_nodes_per_layer -> hidden_layer_sizes; "
                     f"max_iter={MAX_ITER} epochs")
    if name == "lda":
        shrinkage = hp.pop("shrinkage", None)
        factor = hp.pop("shrinkage_factor", None)
        if shrinkage in (None, "None"):
            hp["solver"] = "svd"
        else:
            hp["solver"] = "lsqr"
            hp["shrinkage"] = "auto" if shrinkage == "auto" else float(factor)
            hp.pop("tol", None)
    if name == "passive_aggressive":
        loss = hp.pop("loss")
        hp = {"loss": "hinge", "penalty": None, "learning_rate": "pa1" if loss == "hinge" else
              "pa2", "eta0": float(hp.pop("C")), **hp}
        notes.append("PassiveAggressiveClassifier (deprecated in 1.8) -> SGDClassifier with "
                     f"learning_rate='{hp['learning_rate']}', eta0=C")
    if name == "sgd":
        renamed = {"log": "log_loss", "squared_loss": "squared_error"}
        hp["loss"] = renamed.get(hp["loss"], hp["loss"])
    if name == "ard_regression" and "n_iter" in hp:
        hp["max_iter"] = int(hp.pop("n_iter"))
    if name == "gaussian_process":
        hp = {"alpha": hp["alpha"], "length_scale_bounds": [hp["thetaL"], hp["thetaU"]],
              "normalize_y": True, "n_restarts_optimizer": 10}
        notes.append("thetaL/thetaU -> RBF length_scale_bounds, as auto-sklearn's wrapper does")
    if name in ("liblinear_svc", "liblinear_svr"):
        hp.pop("multi_class", None)
    for key in ("n_neighbors", "n_estimators", "max_depth", "max_leaf_nodes", "min_samples_leaf",
                "min_samples_split", "max_bins", "n_iter_no_change", "degree", "max_iter", "p"):
        if key in hp and isinstance(hp[key], float) and hp[key].is_integer():
            hp[key] = int(hp[key])
    return hp


def _feature_preprocessor(
    choice: str, params: dict[str, Any], task: str, notes: list[str]
) -> dict[str, Any] | None:
    params = {k: v for k, v in params.items() if v is not None}
    if choice == "no_preprocessing":
        return None
    if choice == "pca":
        return {"name": "pca", "params": {"n_components": params["keep_variance"],
                                          "whiten": params["whiten"], "svd_solver": "full"}}
    if choice.startswith("extra_trees_preproc"):
        est = {k: v for k, v in params.items()}
        if "criterion" in est and task == "regression":
            est["criterion"] = CRITERION[est["criterion"]]
        est.pop("max_depth", None)
        for key in ("n_estimators", "min_samples_leaf", "min_samples_split"):
            est[key] = int(est[key])
        est["max_features"] = round(min(1.0, TYPICAL_N_FEATURES ** (float(est["max_features"]) -
                                                                    1)), 4)
        notes.append("extra-trees feature selection -> SelectFromModel(ExtraTrees)")
        return {"name": "select_from_model",
                "params": {"estimator": {"algorithm": "extra_trees", "hyperparameters": est}}}
    if choice == "liblinear_svc_preprocessor":
        est = {k: v for k, v in params.items() if k != "multi_class"}
        notes.append("L1 linear-SVC feature selection -> SelectFromModel(LinearSVC)")
        return {"name": "select_from_model",
                "params": {"estimator": {"algorithm": "linear_svm", "hyperparameters": est}}}
    if choice == "fast_ica":
        whiten = bool(params.get("whiten"))
        out = {"algorithm": params["algorithm"], "fun": params["fun"],
               "whiten": "unit-variance" if whiten else False}
        if whiten and "n_components" in params:
            out["n_components"] = int(params["n_components"])
        notes.append("FastICA whiten=True -> 'unit-variance'")
        return {"name": "fast_ica", "params": out}
    if choice == "feature_agglomeration":
        return {"name": "feature_agglomeration",
                "params": {"metric": params["affinity"], "linkage": params["linkage"],
                           "n_clusters": int(params["n_clusters"]),
                           "pooling_func": params["pooling_func"]}}
    if choice == "kernel_pca":
        out = {k: params[k] for k in ("kernel", "gamma", "degree", "coef0") if k in params}
        if "degree" in out:
            out["degree"] = int(out["degree"])
        out["n_components"] = int(params["n_components"])
        out["remove_zero_eig"] = True  # as auto-sklearn's wrapper set it
        return {"name": "kernel_pca", "params": out}
    if choice == "kitchen_sinks":
        return {"name": "kitchen_sinks", "params": {"gamma": params["gamma"],
                                                    "n_components": int(params["n_components"])}}
    if choice == "nystroem_sampler":
        out = {k: params[k] for k in ("kernel", "gamma", "degree", "coef0") if k in params}
        if "degree" in out:
            out["degree"] = int(out["degree"])
        out["n_components"] = int(params["n_components"])
        return {"name": "nystroem", "params": out}
    if choice == "polynomial":
        return {"name": "polynomial", "params": {"degree": int(params["degree"]),
                                                 "include_bias": params["include_bias"],
                                                 "interaction_only": params["interaction_only"]}}
    if choice == "random_trees_embedding":
        # Its search space fixes min_weight_fraction_leaf=1.0, which scikit-learn rejects (> 0.5)
        # and auto-sklearn's wrapper never passed on; bootstrap no longer exists.
        out = {k: v for k, v in params.items()
               if k not in ("bootstrap", "min_weight_fraction_leaf")}
        for key in ("n_estimators", "max_depth", "min_samples_leaf", "min_samples_split"):
            out[key] = int(out[key])
        notes.append("RandomTreesEmbedding: bootstrap and min_weight_fraction_leaf dropped; "
                     "dense output")
        return {"name": "random_trees_embedding", "params": {**out, "sparse_output": False}}
    if choice.startswith("select_percentile"):
        func = SCORE_FUNC.get(params["score_func"], params["score_func"])
        if task == "regression" and func == "mutual_info_classif":
            func = "mutual_info_regression"
        return {"name": "select_percentile",
                "params": {"score_func": func, "percentile": params["percentile"]}}
    if choice.startswith("select_rates"):
        func = SCORE_FUNC.get(params["score_func"], params["score_func"])
        mode = params.get("mode", "fpr")
        if func.startswith("mutual_info"):
            # Mutual information has no p-values; auto-sklearn's wrapper switches to
            # mode='percentile' (with alpha as the percentile) for it, and so do we.
            mode = "percentile"
            notes.append("mutual information has no p-values: mode='percentile' as auto-sklearn")
        return {"name": "select_rates", "params": {"score_func": func, "mode": mode,
                                                   "param": params["alpha"]}}
    raise ValueError(f"unknown auto-sklearn feature preprocessor {choice!r}")


def _translate(config: dict[str, Any], task: str) -> tuple[dict[str, Any], list[str]]:
    notes: list[str] = []
    role = "classifier" if task == "classification" else "regressor"
    choice = config[f"{role}:__choice__"]
    hp = _classifier_or_regressor(choice, _part(config, f"{role}:{choice}:"), task, notes)
    algorithm = ALGORITHM.get(choice, choice)

    dp = "data_preprocessor:feature_type:"
    scaler_choice = config[f"{dp}numerical_transformer:rescaling:__choice__"]
    scaler_params = _part(config, f"{dp}numerical_transformer:rescaling:{scaler_choice}:")
    if scaler_choice == "robust_scaler":
        scaler_params = {"quantile_range": [100 * scaler_params["q_min"],
                                            100 * scaler_params["q_max"]]}
    if scaler_choice == "quantile_transformer":
        scaler_params["n_quantiles"] = int(scaler_params["n_quantiles"])
    encoding = config[f"{dp}categorical_transformer:categorical_encoding:__choice__"]
    coalesce = config[f"{dp}categorical_transformer:category_coalescence:__choice__"]
    min_fraction = config.get(
        f"{dp}categorical_transformer:category_coalescence:minority_coalescer:minimum_fraction"
    )
    fp_choice = config.get("feature_preprocessor:__choice__", "no_preprocessing")
    fp = _feature_preprocessor(
        fp_choice, _part(config, f"feature_preprocessor:{fp_choice}:"), task, notes
    )
    if config.get("balancing:strategy") == "weighting":
        cls = pipelines._resolve(getattr(pipelines.ALGORITHMS[algorithm], task))
        if pipelines._accepts(cls, "class_weight"):
            hp["class_weight"] = "balanced"
            notes.append("balancing 'weighting' -> class_weight='balanced'")
        else:
            notes.append("balancing 'weighting' (sample weights) not reproduced for this model")
    spec = {
        "algorithm": algorithm,
        "hyperparameters": hp,
        "imputer": config[f"{dp}numerical_transformer:imputation:strategy"],
        "scaler": {"name": SCALER[scaler_choice], "params": scaler_params},
        "categorical": {
            "imputer": "most_frequent",
            "encoder": "onehot" if encoding == "one_hot_encoding" else "ordinal",
            "min_frequency": float(min_fraction) if coalesce == "minority_coalescer" else None,
        },
        "feature_preprocessor": fp,
    }
    return spec, notes


def _folders(root: Path) -> list[tuple[Path, str, str]]:
    out = []
    for folder in sorted((root / FOLDER).glob("*_dense")):
        metric_part, _, kind = folder.name.partition(".") if "." in folder.name else (
            folder.name.rsplit("_regression", 1)[0], "", "regression")
        task = "regression" if "regression" in kind else "classification"
        metric = metric_part.rsplit("_", 1)[0] if task == "classification" else metric_part
        out.append((folder, metric, task))
    return out


def load(root: Path) -> ImportResult:
    config_rows: dict[str, dict[str, Any]] = {}
    run_frames, feature_frames = [], []
    for folder, metric, task in _folders(root):
        configs = pd.read_csv(folder / "configurations.csv", keep_default_na=False,
                              na_values=[""], dtype=str)
        ids = {}
        for row in configs.to_dict("records"):
            original = {k: _literal(v) for k, v in row.items() if isinstance(v, str) and k != "idx"}
            spec, notes = _translate(original, task)
            config = configuration_row(SOURCE, task, spec, original, notes)
            config_rows[config["configuration_id"]] = config
            ids[int(row["idx"])] = config["configuration_id"]
        runs = read_arff_frame(folder / "algorithm_runs.arff")
        value_col = runs.columns[3]
        runs = runs[runs["runstatus"] == "ok"]
        name = metric if metric in ALREADY_LOSSES else f"{metric}_loss"
        run_frames.append(
            pd.DataFrame(
                {
                    "dataset_key": "name:" + runs["instance_id"].astype(str),
                    "openml_task_id": pd.NA,
                    "configuration_id": runs["algorithm"].astype(int).map(ids),
                    "metric": name,
                    "value": runs[value_col].astype(float),
                    "higher_is_better": False,
                    "runtime_s": np.nan,
                    "source": SOURCE,
                    "task_type": task,
                }
            )
        )
        features = read_arff_frame(folder / "feature_values.arff").drop(columns="repetition")
        feature_frames.append(features.assign(task_type=task))
    runs = pd.concat(run_frames, ignore_index=True).drop_duplicates(
        ["dataset_key", "configuration_id", "metric"]
    )
    features = pd.concat(feature_frames, ignore_index=True).drop_duplicates("instance_id")
    features["dataset_key"] = "name:" + features["instance_id"].astype(str)
    task_of = pd.concat([runs[["dataset_key", "task_type"]], features[["dataset_key", "task_type"]]]
                        ).drop_duplicates("dataset_key").set_index("dataset_key")["task_type"]
    fv = features.set_index("dataset_key").reindex(task_of.index)
    datasets = pd.DataFrame(
        {
            "dataset_key": task_of.index,
            "name": [k.split(":", 1)[1] for k in task_of.index],
            "task_type": task_of.to_numpy(),
            # auto-sklearn profiled a training split (about 2/3 of the rows), so its row count is
            # not the dataset's; its feature count omits the target, which OpenML's includes.
            "n_instances": np.nan,
            "n_features": (fv["NumberOfFeatures"] + 1).to_numpy(),
            "n_classes": fv["NumberOfClasses"].to_numpy(),
            "has_missing": (fv["NumberOfMissingValues"] > 0).to_numpy(),
        }
    )
    mf = (
        features.drop(columns=["instance_id", "task_type"])
        .melt(id_vars="dataset_key", var_name="quality", value_name="value")
        .dropna(subset=["value"])
        .assign(origin="autosklearn", source=SOURCE)
    )
    return ImportResult(
        source=SOURCE,
        provenance=f"{FOLDER}/PROVENANCE.txt",
        datasets=datasets,
        configurations=pd.DataFrame(list(config_rows.values())),
        runs=runs.drop(columns="task_type"),
        metafeatures=mf,
    )
