"""Imputation: which imputer suits a dataset's missing values, measured or predicted.

``selector`` learns the choice from the campaign's runs (meta-features -> imputer), ``campaign``
reads the campaign's tables and holds the shipped model, ``probe`` measures the imputers on the
user's own data, and ``injection`` masks values of complete tables to make campaign variants.
"""

from metarec.imputation.campaign import (
    MODEL_FILE,
    campaign_dir,
    campaign_tables,
    dataset_groups,
    load_model,
    recommend_imputer,
    soft_hit_table,
    train,
)
from metarec.imputation.selector import (
    FAMILIES,
    FEATURES,
    MODELS,
    NATIVE_FAMILIES,
    TOLERANCE,
    ImputationError,
    ImputerSelector,
    estimator_family,
    feature_scaler,
    gap_table,
    hit_table,
    probe_key,
    ranking_key,
    split_configuration,
)

__all__ = [
    "FAMILIES", "FEATURES", "MODELS", "MODEL_FILE", "NATIVE_FAMILIES", "TOLERANCE",
    "ImputationError", "ImputerSelector", "campaign_dir", "campaign_tables", "dataset_groups",
    "estimator_family", "feature_scaler", "gap_table", "hit_table", "load_model", "probe_key",
    "ranking_key", "recommend_imputer", "soft_hit_table", "split_configuration", "train",
]
