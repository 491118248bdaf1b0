"""Tuning from experience: the recommended configurations first, then Optuna's TPE.

``space`` (the search space), ``warmstart`` (recommendations -> the study's first trials),
``study`` (Optuna storage, sampler and study), ``objective`` (a cross-validated pipeline per trial,
and :func:`tune`), ``search`` (the one orchestration used by the CLI and the estimators:
recommendations -> tune -> fit the best), ``persistence`` (fitted pipelines saved with skops).
"""

from metarec.errors import TuningError
from metarec.tuning.data import as_frame, check_data, infer_task
from metarec.tuning.objective import (
    DEFAULT_SCORING,
    ERROR_ATTR,
    SPEC_ATTR,
    make_objective,
    spec_of,
    tune,
)
from metarec.tuning.persistence import TRUSTED_TYPES, load_pipeline, save_pipeline
from metarec.tuning.space import SearchSpace, space_for
from metarec.tuning.study import (
    DEFAULT_STUDY_NAME,
    create_study,
    open_storage,
    quiet_optuna,
    warm_sampler,
)
from metarec.tuning.warmstart import (
    DEFAULT_K,
    POOL_PER_WARM_TRIAL,
    SEARCH_SPACES,
    balanced_class_weight,
    class_weight_for,
    enqueue_warm_trials,
    recommended_space,
    translate_spec,
    warm_start,
    warm_start_order,
    warm_start_params,
)

__all__ = [
    "DEFAULT_K", "DEFAULT_SCORING", "DEFAULT_STUDY_NAME", "ERROR_ATTR", "POOL_PER_WARM_TRIAL",
    "SEARCH_SPACES", "SPEC_ATTR", "TRUSTED_TYPES", "SearchSpace", "TuningError", "as_frame",
    "balanced_class_weight", "check_data", "class_weight_for", "create_study",
    "enqueue_warm_trials", "infer_task", "load_pipeline", "make_objective", "open_storage",
    "quiet_optuna", "recommended_space", "save_pipeline", "space_for", "spec_of",
    "translate_spec", "tune", "warm_sampler", "warm_start", "warm_start_order",
    "warm_start_params",
]
