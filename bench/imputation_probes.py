"""Probe every imputation-campaign dataset again, with folds the campaign did not use.

For each campaign dataset, rebuilt exactly as the campaign used it (same subsampling, same
injection), and each estimator family, this runs :func:`metarec.imputation.probe.probe` (what
``metarec recommend --probe-imputers`` runs on a user's data) with fold seeds ``--seed``,
``--seed + 1``, ...; the campaign's labels came from fold seed 0, so the probe is an independent
measurement. The table lets ``bench/bench_imputation.py`` score probe-based choices
leave-one-group-out.

With ``--folds 5 --repeats 1`` it is the campaign's own protocol with only the fold assignment
changed: a test-retest of the labels themselves (how often does the imputer that wins one 5-fold
CV land within 0.01 of the best in another?).

    OMP_NUM_THREADS=1 nice python -m bench.imputation_probes                 # probes.parquet
    OMP_NUM_THREADS=1 nice python -m bench.imputation_probes --seed 9 \\
        --out knowledge_base/imputation/probes_seed9.parquet
    OMP_NUM_THREADS=1 nice python -m bench.imputation_probes --folds 5 --repeats 1 \\
        --out knowledge_base/imputation/retest.parquet
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bench.imputation_campaign import prepare, recorded_tasks
from metarec.imputation import FAMILIES, campaign_dir
from metarec.imputation.probe import PROBE_FOLDS, PROBE_REPEATS, PROBE_ROWS, probe

PROBE_SEED = 7  # anything but the campaign's fold seed (0)


def probe_dataset(task: Any, settings: dict[str, int], n_folds: int, n_repeats: int,
                  max_rows: int, seed: int) -> list[dict[str, Any]]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        X, y, task_type, _record = prepare(task, settings["max_rows"], settings["max_features"],
                                           settings["n_folds"])
        rows = []
        for family in FAMILIES:
            # unbudgeted: these tables measure every imputer, however long it takes
            result = probe(X, y, task_type, family, max_rows=max_rows, n_folds=n_folds,
                           n_repeats=n_repeats, random_state=seed, budget_s=None)
            for imputer, value in result.scores.items():
                rows.append({"dataset_id": task.dataset_id, "family": family, "imputer": imputer,
                             "value": value, "n_rows": result.n_rows, "n_folds": n_folds,
                             "n_repeats": n_repeats, "seed": seed,
                             "seconds": round(result.seconds, 3)})
    return rows


def main(argv: list[str] | None = None) -> int:
    from joblib import Parallel, delayed

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--kb", type=Path, default=campaign_dir())
    parser.add_argument("--folds", type=int, default=PROBE_FOLDS)
    parser.add_argument("--repeats", type=int, default=PROBE_REPEATS,
                        help="fold seeds --seed, --seed + 1, ... (averaged)")
    parser.add_argument("--max-rows", type=int, default=PROBE_ROWS)
    parser.add_argument("--seed", type=int, default=PROBE_SEED)
    parser.add_argument("--n-jobs", type=int, default=2, help="datasets in parallel")
    parser.add_argument("--out", type=Path, default=campaign_dir() / "probes.parquet")
    args = parser.parse_args(argv)
    if args.seed <= 0 < args.seed + args.repeats:
        parser.error("fold seed 0 repeats the campaign's own folds; use --seed 1 or above.")
    datasets = pd.read_parquet(args.kb / "datasets.parquet")
    ran = datasets[datasets["skipped"].fillna("") == ""]
    settings = {k: int(ran.iloc[0][k]) for k in ("max_rows", "max_features", "n_folds")}
    tasks = recorded_tasks(ran)
    missing = [t.dataset_id for t in tasks if not t.path.exists()]
    if missing:
        raise SystemExit(f"{len(missing)} of {len(tasks)} campaign datasets are missing from "
                         f"../shared/data (first: {missing[0]}).")
    started = time.time()
    parts = Parallel(n_jobs=args.n_jobs, verbose=5)(
        delayed(probe_dataset)(task, settings, args.folds, args.repeats, args.max_rows, args.seed)
        for task in tasks
    )
    table = pd.DataFrame([row for part in parts for row in part])
    table.to_parquet(args.out, index=False)
    print(json.dumps({"out": str(args.out), "datasets": int(table["dataset_id"].nunique()),
                      "rows": len(table), "wall_s": round(time.time() - started, 1),
                      "median_probe_s": float(np.median(table.groupby(
                          ["dataset_id", "family"])["seconds"].first()))}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
