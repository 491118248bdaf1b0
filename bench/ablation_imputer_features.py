"""Ablation: does the linear predictability of incomplete columns help the imputer recommender?

Model-based imputers (iterative, kNN) should beat mean/median where an incomplete column is
predictable from the others. For every dataset of the imputation campaign, rebuilt as the
campaign used it (same subsampling, same injection), this computes the cross-validated ridge R²
of each incomplete numeric column (up to 15) from the other numeric columns on its observed rows,
clipped to [0, 1]; ``MeanValuePredictability`` / ``MaxValuePredictability`` are their mean and
maximum. It then reruns ``bench_imputation``'s leave-one-group-out evaluation with and without
the two features and prints top-1 accuracy per method side by side. Nothing is written.

    OMP_NUM_THREADS=1 python -m bench.ablation_imputer_features     # about 7 minutes on 2 cores
"""

from __future__ import annotations

import shutil
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

FEATURES = ("MeanValuePredictability", "MaxValuePredictability")
MAX_COLUMNS = 15


def value_predictability(X: pd.DataFrame) -> dict[str, float]:
    from sklearn.linear_model import RidgeCV
    from sklearn.model_selection import KFold, cross_val_score

    numeric = X.select_dtypes("number")
    incomplete = [c for c in numeric.columns
                  if numeric[c].isna().any() and numeric[c].notna().sum() >= 10]
    scores = []
    for column in incomplete[:MAX_COLUMNS]:
        others = numeric.drop(columns=[column])
        observed = numeric[column].notna().to_numpy()
        target = numeric[column].to_numpy()[observed]
        if others.shape[1] == 0 or np.std(target) == 0:
            continue
        Z = others.fillna(others.mean()).fillna(0.0).to_numpy()[observed]
        Z = (Z - Z.mean(0)) / (Z.std(0) + 1e-12)
        r2 = cross_val_score(RidgeCV(alphas=(0.1, 1.0, 10.0, 100.0)), Z, target, scoring="r2",
                             cv=KFold(3, shuffle=True, random_state=0))
        scores.append(float(np.clip(np.mean(r2), 0.0, 1.0)))
    if not scores:
        return dict.fromkeys(FEATURES, np.nan)
    return {FEATURES[0]: float(np.mean(scores)), FEATURES[1]: float(np.max(scores))}


def campaign_features(kb_dir: Path) -> pd.DataFrame:
    from bench.imputation_campaign import injected_tasks, natural_tasks, prepare

    datasets = pd.read_parquet(kb_dir / "datasets.parquet")
    ran = datasets[datasets["skipped"].fillna("") == ""]
    settings = ran.iloc[0]
    wanted = set(ran["dataset_id"])
    rows = []
    for task in natural_tasks() + injected_tasks(30, 4):
        if task.dataset_id not in wanted:
            continue
        X, _y, _task, _record = prepare(task, int(settings["max_rows"]),
                                        int(settings["max_features"]), int(settings["n_folds"]))
        rows.append({"dataset_id": task.dataset_id, **value_predictability(X)})
    missing = wanted - {r["dataset_id"] for r in rows}
    if missing:
        raise SystemExit(f"{len(missing)} campaign datasets could not be rebuilt")
    return pd.DataFrame(rows)


def accuracy(kb_dir: Path) -> pd.Series:
    from bench.bench_imputation import evaluate

    table, _scheme, _picked = evaluate(kb_dir, None, False, 1, True)
    return table.groupby("method")["hit"].mean()


def main() -> None:
    import metarec.imputation as imputation
    from metarec.imputation import campaign_dir

    KB_DIR = campaign_dir()

    warnings.simplefilter("ignore")
    extra = campaign_features(KB_DIR).melt(id_vars="dataset_id", var_name="quality",
                                           value_name="value")
    before = accuracy(KB_DIR)
    with tempfile.TemporaryDirectory() as tmp:
        kb_dir = Path(tmp) / "imputation"
        shutil.copytree(KB_DIR, kb_dir)
        base = pd.read_parquet(KB_DIR / "metafeatures.parquet")
        pd.concat([base, extra]).to_parquet(kb_dir / "metafeatures.parquet")
        imputation.MISSINGNESS_FEATURES = (*imputation.MISSINGNESS_FEATURES, *FEATURES)
        imputation.FEATURES = imputation.MISSINGNESS_FEATURES + imputation.GENERAL_FEATURES
        after = accuracy(kb_dir)
    table = pd.DataFrame({"without": before, "with value predictability": after})
    print((100 * table).round(1).sort_values("without", ascending=False).to_string())


if __name__ == "__main__":
    main()
