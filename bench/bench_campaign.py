"""The meta-learner on a run campaign's evidence, left out of datasets: the set it would try
first against the static portfolio, and the calibration of its predicted scores.

    python -m bench.bench_campaign classification [--seeds 0 1 2] [--ks 1 3 5 10]

For the campaign of ``task`` (its runs in the knowledge base, source ``<task>_campaign``): outer
grouped 5-fold over datasets per seed, every split grouped by *family* (:func:`family`) so that
copies and variants of one source fall on one side; in each fold the learner ``metarec
recommend`` ships (``LEARNER_SETTINGS``) is fitted on the other datasets' meta-features and
scores; on the held-out ones: gap closed at each k (best of the first k; SBS = the training
datasets' single best configuration by mean normalised regret) for the meta-learner's diverse
ranking (what ``recommend`` shows), the static greedy portfolio of the training datasets and that
portfolio in the meta-learner's order (``candidate_set`` of k: what ``tune`` tries first), and
the earlier warm start (a set of 5, then the diverse ranking);
calibration of the predicted score (share of held-out cells within ± 1 reported standard
deviation; target 60-75%). Differences with a 95% bootstrap CI over datasets. Section
``<task>-metalearner`` of ``docs/benchmarks.md``.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bench.bench_calibration import cells
from bench.bench_calibration import summary as calibration
from bench.bench_headtohead import bootstrap_ci
from bench.report import machine_line, write_section

ROOT = Path(__file__).resolve().parent.parent
FOLDS = 5
SET_SIZE = 5  # recommend's default set_size, which the warm start used before it took k
WARM_ORDER = "set of 5, then the diverse top (the earlier warm start)"
# task -> (campaign source, metric, higher is better), as metarec.kb.campaigns records them.
SOURCES = {"regression": ("regression_campaign", "r2", True),
           "classification": ("classification_campaign", "balanced_error_rate", False)}
THYROID = {"allbp", "allhyper", "allhypo", "allrep", "dis", "sick", "hypothyroid",
           "annthyroid", "newthyroid", "thyroid", "sickeuthyroid"}


def family(name: str, task: str = "regression") -> str:
    """The group a dataset belongs to: copies and variants of one source share it (for
    classification also the thyroid tables, which share rows and differ in the target, the
    GAMETES and mfeat series, and numbered variants such as monk1-3 or led7/led24)."""
    key = re.sub(r"^\d+_", "", str(name)).lower()
    if key.startswith("fri_"):
        return "friedman"
    key = re.sub(r"^bng_", "", key)
    if task == "regression":
        return re.sub(r"[^a-z0-9]", "", key)
    for prefix in ("gametes", "mfeat"):
        if key.startswith(prefix):
            return prefix
    key = re.sub(r"[^a-z0-9]", "", re.sub(r"_nominal$", "", key))
    if key in THYROID:
        return "thyroid"
    return re.sub(r"(?<=[a-z])\d+$", "", key) or key


def evidence_of(kb: Any, task: str) -> Any:
    """The campaign of ``task`` as :class:`metarec.kb.queries.Evidence`."""
    from metarec.kb.queries import Evidence

    source, metric, higher = SOURCES[task]
    runs = kb.runs[(kb.runs["source"] == source) & (kb.runs["metric"] == metric)]
    return Evidence(source, metric, higher, runs["dataset_id"].nunique(),
                    runs["configuration_id"].nunique())


def campaign_evidence(kb: Any, task: str, groups: tuple[str, ...] | None = None
                      ) -> tuple[pd.DataFrame, pd.DataFrame, pd.Series]:
    """Meta-features (the qualities of ``groups``; by default those recommend's learner sees),
    the campaign's performance matrix (its metric as recorded) and family of each dataset."""
    from metarec.kb.queries import learner_groups, learner_inputs

    evidence = evidence_of(kb, task)
    mf, perf = learner_inputs(kb, evidence, groups or learner_groups(evidence))
    datasets = perf.index[perf.index.isin(mf.index) & perf.notna().any(axis=1)]
    names = kb.datasets.set_index("dataset_id")["name"]
    families = pd.Series([family(names.get(d, d), task) for d in datasets], index=datasets)
    return mf.loc[datasets], perf.loc[datasets], families


def grouped_folds(families: pd.Series, n_folds: int, seed: int) -> list[np.ndarray]:
    """Positions of each fold's held-out datasets; families shuffled by ``seed``, then dealt to
    the folds largest first, each to the fold with the fewest datasets so far."""
    rng = np.random.default_rng(seed)
    groups = families.groupby(families.to_numpy()).indices
    order = sorted(groups, key=lambda g: (-len(groups[g]), rng.random()))
    folds: list[list[int]] = [[] for _ in range(n_folds)]
    for g in order:
        min(folds, key=len).extend(int(i) for i in groups[g])
    return [np.sort(np.array(f, dtype=int)) for f in folds]


# -- the meta-learner ----------------------------------------------------------------------------
def _key_from(frame: pd.DataFrame, index: pd.Index, columns: pd.Index,
              order_column: str) -> np.ndarray:
    key = np.full((len(index), len(columns)), -np.inf)
    key[index.get_indexer(frame["dataset"]), columns.get_indexer(frame["configuration"])] = (
        -frame[order_column].to_numpy(dtype=float))
    return key


def _warm_start_order(first: pd.DataFrame, ranking: pd.DataFrame, k: int) -> pd.DataFrame:
    """Per dataset, ``metarec.tuning.warm_start_order`` given a set shorter than ``k``: the set,
    then the diverse ranking's configurations not in it, ``k`` in all."""
    frames = []
    for dataset, members in first.groupby("dataset", sort=False):
        order = list(members.sort_values("position")["configuration"])
        ranked = ranking[ranking["dataset"] == dataset].sort_values("rank")["configuration"]
        order += [c for c in ranked if c not in order]
        frames.append(pd.DataFrame({"dataset": dataset, "configuration": order[:k],
                                    "position": np.arange(1, min(k, len(order)) + 1)}))
    return pd.concat(frames, ignore_index=True)


def variant_names(extra_groups: tuple[str, ...]) -> tuple[str, str]:
    """The two methods of the learner that also sees ``extra_groups``."""
    plus = " + ".join(extra_groups)
    return (f"meta-learner + {plus}, diverse top-k",
            f"static portfolio, meta-learner + {plus} order")


def evaluate_metalearner(kb: Any, seeds: list[int], n_folds: int, task: str,
                         ks: tuple[int, ...], extra_groups: tuple[str, ...] = (),
                         base_groups: tuple[str, ...] | None = None) -> dict[str, Any]:
    """The methods below on held-out datasets, the learner seeing ``base_groups`` (default:
    what recommend's learner sees); with ``extra_groups``, also a second learner fitted in the
    same folds on those groups' qualities too."""
    from metarec.kb.queries import learner_groups
    from metarec.metalearner import MetaLearner, evaluation
    from metarec.metalearner.portfolio import greedy_cover, normalised_regret
    from metarec.recommend.learner_cache import LEARNER_SETTINGS

    base_groups = base_groups or tuple(learner_groups(evidence_of(kb, task)))
    mf, perf, families = campaign_evidence(kb, task, base_groups)
    methods: tuple[str, ...] = ("meta-learner, diverse top-k", "static portfolio",
                                "static portfolio, meta-learner order", WARM_ORDER)
    mf_extra = None
    if extra_groups:
        mf_extra = campaign_evidence(kb, task, (*base_groups, *extra_groups))[0].reindex(
            mf.index)
        methods += variant_names(extra_groups)
    per_seed: dict[str, list[pd.DataFrame]] = {m: [] for m in methods}
    cal: dict[str, list[pd.DataFrame]] = {"all cells": [], "top 5 (diverse)": []}
    algorithm = kb.configurations.set_index("configuration_id")["algorithm"]
    families_in_top: list[int] = []
    started = time.perf_counter()
    for seed in seeds:
        tables: dict[str, list[pd.DataFrame]] = {m: [] for m in methods}
        for f, held in enumerate(grouped_folds(families, n_folds, seed)):
            train = np.setdiff1d(np.arange(len(perf)), held)
            learner = MetaLearner(**LEARNER_SETTINGS, random_state=seed).fit(
                mf.iloc[train], perf.iloc[train], True)
            query, truth = mf.iloc[held], perf.iloc[held].to_numpy()
            regret = normalised_regret(perf.iloc[train].to_numpy())
            sbs = np.full(perf.shape[1], -np.inf)
            sbs[int(np.argmin(regret.mean(axis=0)))] = 0.0
            reference = np.tile(sbs, (len(held), 1))
            members = greedy_cover(regret, max(ks), fill=True)
            static = np.full(perf.shape[1], -np.inf)
            static[members] = -np.arange(len(members), dtype=float)
            top = learner.rank(query, top_k=max(ks), diverse=True)
            chosen = learner.candidate_set(query, k=max(ks))
            warm = _warm_start_order(learner.candidate_set(query, k=SET_SIZE),
                                     learner.rank(query, top_k=max(ks) + SET_SIZE, diverse=True),
                                     max(ks))
            families_in_top += list(top.groupby("dataset")["configuration"].agg(
                lambda c: c.map(algorithm).nunique()))
            keys = {
                "meta-learner, diverse top-k": _key_from(top, query.index, perf.columns, "rank"),
                "static portfolio": np.tile(static, (len(held), 1)),
                "static portfolio, meta-learner order": _key_from(
                    chosen, query.index, perf.columns, "position"),
                WARM_ORDER: _key_from(warm, query.index, perf.columns, "position"),
            }
            if mf_extra is not None:
                other = MetaLearner(**LEARNER_SETTINGS, random_state=seed).fit(
                    mf_extra.iloc[train], perf.iloc[train], True)
                query_extra = mf_extra.iloc[held]
                top_name, set_name = variant_names(extra_groups)
                keys[top_name] = _key_from(other.rank(query_extra, top_k=max(ks), diverse=True),
                                           query.index, perf.columns, "rank")
                keys[set_name] = _key_from(other.candidate_set(query_extra, k=max(ks)),
                                           query.index, perf.columns, "position")
            for method, key in keys.items():
                table = evaluation.per_dataset(truth, key, reference, ks=ks)
                tables[method].append(table.set_index(query.index))
            predicted = learner.predict(query).to_numpy()
            sd = learner.predict_uncertainty(query).to_numpy()
            cal["all cells"].append(cells(truth, predicted, sd))
            rows = query.index.get_indexer(top["dataset"])
            cols = perf.columns.get_indexer(top["configuration"])
            cal["top 5 (diverse)"].append(cells(truth[rows, cols], top["predicted"].to_numpy(),
                                                top["uncertainty"].to_numpy()))
            print(f"  seed {seed} fold {f + 1}/{n_folds} ({time.perf_counter() - started:.0f} s)"
                  f", {learner.candidate_.name}", flush=True)
        for method in methods:
            per_seed[method].append(pd.concat(tables[method]).sort_index())
    return {"task": task, "ks": ks, "extra_groups": extra_groups, "base_groups": base_groups,
            "per_seed": per_seed, "calibration": {k: pd.concat(v, ignore_index=True)
                                                  for k, v in cal.items()},
            "datasets": len(perf), "configurations": perf.shape[1],
            "families_in_top": np.bincount(families_in_top, minlength=6)[1:].tolist(),
            "families": int(families.nunique()), "seconds": time.perf_counter() - started}


def _gap_points(table: pd.DataFrame, k: int) -> pd.Series:
    """Per dataset, its share of the gap closed in points, weighted as the ratio of means is:
    (chosen - SBS) / mean(VBS - SBS) x 100, so that the mean over datasets is the gap closed."""
    gap = float((table["vbs"] - table["sbs"]).mean())
    return 100 * (table[f"chosen@{k}"] - table["sbs"]) / gap


def metalearner_markdown(result: dict[str, Any], command: str) -> str:
    from metarec.metalearner import evaluation

    per_seed, task, ks = result["per_seed"], result["task"], result["ks"]
    score = {"regression": "R²", "classification": "balanced accuracy"}[task]
    script = {"regression": "bench/bench_regression.py", "classification":
              "bench/bench_campaign.py"}[task]
    floor = (" R² below -1 counts as -1 (a diverged run; `metarec.kb.queries.R2_FLOOR`)."
             if task == "regression" else "")
    lines = [f"## {task.capitalize()}: the meta-learner on the campaign's {score} (`{script}`)",
             "", f"{machine_line()}. Command: `{command}`. {result['datasets']} datasets x "
             f"{result['configurations']} configurations of the {task} run campaign "
             f"({result['families']} dataset families); outer grouped {FOLDS}-fold split over "
             "datasets per seed (a family on one side); every figure from the held-out datasets "
             f"only. The learner sees the meta-feature groups {', '.join(result['base_groups'])}"
             + (f"; its variant also {', '.join(result['extra_groups'])}"
                if result.get("extra_groups") else "") + ". "
             "gap closed@k: share of the single-best-to-oracle gap closed by the best of the "
             "first k (mean over seeds ± their standard deviation; the single best closes 0 at "
             f"k = 1 by definition).{floor} Run time "
             f"{result['seconds'] / 60:.1f} min.", "",
             "| set | " + " | ".join(f"gap closed@{k}" for k in ks) + " |",
             "|---|" + "---:|" * len(ks)]
    for method, tables in per_seed.items():
        cells_ = []
        for k in ks:
            values = [evaluation.gap_closed(t, k) for t in tables]
            cells_.append(f"{np.mean(values):.3f} ± {np.std(values):.3f}")
        lines.append(f"| {method} | " + " | ".join(cells_) + " |")
    lines += ["", "| difference (gap-closed points) | " + " | ".join(f"k = {k}" for k in ks)
              + " |", "|---|" + "---:|" * len(ks)]
    pairs = [("meta-learner, diverse top-k", "static portfolio"),
             ("static portfolio, meta-learner order", "static portfolio"),
             (WARM_ORDER, "static portfolio")]
    if result.get("extra_groups"):
        top_name, set_name = variant_names(result["extra_groups"])
        pairs += [(top_name, "meta-learner, diverse top-k"),
                  (set_name, "static portfolio, meta-learner order"),
                  (set_name, "static portfolio")]
    for a, b in pairs:
        row = []
        for k in ks:
            diff = sum(_gap_points(ta, k) - _gap_points(tb, k)
                       for ta, tb in zip(per_seed[a], per_seed[b], strict=True)) / len(per_seed[a])
            low, high = bootstrap_ci(diff.dropna().to_numpy())
            row.append(f"{diff.mean():+.1f} [{low:+.1f}, {high:+.1f}]")
        lines.append(f"| {a} − {b} | " + " | ".join(row) + " |")
    counts = result["families_in_top"]
    lines += ["", "Algorithm families among the diverse top 5 `recommend` shows (held-out "
              "datasets, all seeds): " + ", ".join(f"{n} families: {c}" for n, c in
                                        enumerate(counts, start=1) if c) + "."]
    lines += ["", f"Calibration of the predicted {score} on held-out datasets (all seeds):", "",
              "| cells | n | coverage ±1 sd | coverage ±2 sd | median \\|error\\|/sd | mean sd | "
              "mean true - predicted |", "|---|---:|---:|---:|---:|---:|---:|"]
    for name, frame in result["calibration"].items():
        s = calibration(frame, True)
        lines.append(f"| {name} | {s['cells']} | {s['coverage ±1 sd']:.1%} | "
                     f"{s['coverage ±2 sd']:.1%} | {s['median |error|/sd']:.2f} | "
                     f"{s['mean sd']:.3f} | {s['mean true - predicted']:+.3f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    from metarec import kb as kb_module

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("task", choices=tuple(SOURCES))
    parser.add_argument("--kb", type=Path, default=ROOT / "knowledge_base")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--ks", type=int, nargs="+", default=[1, 3, 5, 10])
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument("--extra-groups", nargs="+", default=[], metavar="GROUP",
                        help="also fit, in the same folds, a learner that sees these "
                        "meta-feature groups too (e.g. landmarking); compared side by side")
    parser.add_argument("--base-groups", nargs="+", metavar="GROUP",
                        help="the meta-feature groups the learner sees (default: those "
                        "recommend's learner sees for this campaign)")
    args = parser.parse_args(argv)
    command = "python -m bench.bench_campaign " + " ".join(sys.argv[1:])
    result = evaluate_metalearner(kb_module.load(args.kb), args.seeds, FOLDS, args.task,
                                  tuple(args.ks), tuple(args.extra_groups),
                                  tuple(args.base_groups) if args.base_groups else None)
    text = metalearner_markdown(result, command)
    print(text)
    if not args.no_write:
        write_section(f"{args.task}-metalearner", text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
