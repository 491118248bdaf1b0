"""Which meta-features the Oboe top-1 choice depends on: the forest model on four feature sets.

    .venv/bin/python bench/bench_metalearner_features.py [--fold-seeds 0 1 2] [--no-write]

The main meta-learner benchmark (bench_metalearner.py) uses every OpenML quality, while
``metarec recommend`` profiles a new dataset with the groups in
``metarec.kb.queries.LEARNER_GROUPS`` only. This ablation measures how much each choice is
worth, with the ``forest`` model (the one ``auto`` picks most often) and the same outer
10-fold split, repeated for several fold seeds because top-1 gap closed moves by several
points between seeds of the split alone.

Feature sets:

* ``all OpenML qualities`` -- what bench_metalearner.py uses;
* ``recommend's groups`` -- the qualities ``metarec recommend`` computes for a new dataset;
* ``+ faithful landmarkers`` -- plus DecisionStump*, kNN1N* and NaiveBayes*, the landmarkers the
  parity benchmark reproduces closely (REPTree/RandomTree/CfsSubsetEval/J48 are left out);
* ``+ 5 probes (simulated)`` -- plus the held-out dataset's own balanced error for the five
  cheapest Oboe configurations, with Gaussian noise (sd 0.02, the re-run difference measured when
  the KB was built) standing in for re-measuring them on the user's data: what probing would add.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_metalearner import _as_key, oboe  # noqa: E402
from bench.report import machine_line, write_section  # noqa: E402
from metarec.metalearner import MetaLearner, evaluation  # noqa: E402

FAITHFUL_LANDMARKERS = ("DecisionStump", "kNN1N", "NaiveBayes")
PROBE_NOISE = 0.02
N_PROBES = 5


def recommend_feature_names() -> list[str]:
    import metafeatures
    from metarec.kb.queries import _learner_feature_names

    return _learner_feature_names(metafeatures)


def cheapest_configurations(configs: pd.Index, n: int) -> list[str]:
    from metarec import kb

    runs = kb.load(ROOT / "knowledge_base").runs
    runtime = runs[runs["source"] == "oboe"].groupby("configuration_id")["runtime_s"].median()
    return list(runtime.reindex(configs).sort_values().index[:n])


def feature_sets(mf: pd.DataFrame, perf: pd.DataFrame) -> dict[str, pd.DataFrame]:
    recommend = [c for c in recommend_feature_names() if c in mf.columns]
    landmarkers = [c for c in mf.columns if str(c).startswith(FAITHFUL_LANDMARKERS)]
    with_landmarkers = mf[recommend + landmarkers]
    probes = with_landmarkers.copy()
    rng = np.random.RandomState(0)
    for config in cheapest_configurations(perf.columns, N_PROBES):
        probes[f"probe:{config}"] = (perf[config].reindex(mf.index).to_numpy()
                                     + rng.normal(0.0, PROBE_NOISE, len(mf)))
    return {"all OpenML qualities": mf, "recommend's groups": mf[recommend],
            "+ faithful landmarkers": with_landmarkers,
            f"+ {N_PROBES} probes (simulated)": probes}


def evaluate(mf: pd.DataFrame, perf: pd.DataFrame, maximize: bool, fold_seed: int,
             n_folds: int = 10) -> dict[str, float]:
    n = len(perf)
    truth = perf.to_numpy() if maximize else -perf.to_numpy()
    tables = []
    for held in np.array_split(np.random.RandomState(fold_seed).permutation(n), n_folds):
        train = np.setdiff1d(np.arange(n), held)
        learner = MetaLearner("forest", random_state=0).fit(mf.iloc[train], perf.iloc[train],
                                                            maximize)
        key = _as_key(learner.rank(mf.iloc[held]), perf.index[held], perf.columns)
        sbs = np.tile(np.nanmean(truth[train], axis=0), (len(held), 1))
        tables.append(evaluation.per_dataset(truth[held], key, sbs, ks=(1, 5)))
    return evaluation.summary(pd.concat(tables))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fold-seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--no-write", action="store_true", help="print, do not touch docs/")
    args = parser.parse_args(argv)
    machine = machine_line()
    start = time.process_time()
    mf, perf, _, maximize, where = oboe()
    common = perf.index[perf.index.isin(mf.index) & perf.notna().any(axis=1)]
    perf, mf = perf.loc[common], mf.loc[~mf.index.duplicated()].loc[common]
    rows = []
    for name, frame in feature_sets(mf, perf).items():
        results = [evaluate(frame, perf, maximize, seed) for seed in args.fold_seeds]
        gaps = [r["gap_closed@1"] for r in results]
        rows.append({"feature set": name, "features": frame.shape[1],
                     "gap_closed@1 per fold seed": " / ".join(f"{g:.3f}" for g in gaps),
                     "gap_closed@1 mean": np.mean(gaps),
                     "gap_closed@5 mean": np.mean([r["gap_closed@5"] for r in results]),
                     "regret@1 mean": np.mean([r["regret@1"] for r in results])})
        print(rows[-1], flush=True)
    table = pd.DataFrame(rows)
    lines = [
        "## Meta-learner: which meta-features matter (`bench/bench_metalearner_features.py`)",
        "",
        f"{machine}; {time.process_time() - start:.0f} CPU s. Oboe matrix from {where}, "
        f"{perf.shape[0]} datasets x {perf.shape[1]} configurations; `forest` model, outer "
        f"10-fold split repeated for fold seeds {', '.join(map(str, args.fold_seeds))}; "
        "definitions as in the section above. `probes` are simulated (see the script's "
        f"docstring: true values + N(0, {PROBE_NOISE}) noise); metarec does not probe today.",
        "",
        "| feature set | features | gap_closed@1 per fold seed | gap_closed@1 mean | "
        "gap_closed@5 mean | regret@1 mean |",
        "|---|---:|---|---:|---:|---:|",
    ]
    for _, row in table.iterrows():
        lines.append(f"| {row['feature set']} | {row['features']} | "
                     f"{row['gap_closed@1 per fold seed']} | {row['gap_closed@1 mean']:.3f} | "
                     f"{row['gap_closed@5 mean']:.3f} | {row['regret@1 mean']:.3f} |")
    text = "\n".join(lines)
    if args.no_write:
        print(text)
    else:
        write_section("metalearner_features", text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
