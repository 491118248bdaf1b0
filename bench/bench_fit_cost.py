"""How well the fit-cost model predicts fit times on knowledge-base datasets it has not seen.

Leave-datasets-out: the knowledge base's datasets with recorded fit times are split into 10 groups
(datasets of identical size, mostly versions of one OpenML dataset, share a group); the model is
fitted on nine and predicts every configuration's fit time on the tenth. Errors are absolute
log10 errors (0.3 = a factor of 2). Compared: :class:`metarec.metalearner.cost.FitCostModel`
(power law + nearest datasets' residuals), the power law alone, and each configuration's median
time whatever the size. Also: fitted on datasets under 2,000 rows, predicting those of 5,000 rows
and more (a user's larger table).

    nice python -m bench.bench_fit_cost

Writes the section ``fit_cost`` of ``docs/benchmarks.md``.
"""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np
import pandas as pd

GROUPS = 10
LARGE = 5000  # rows: the tables where a costly pick hurts
SMALL = 2000  # rows: the training side of the extrapolation check


def _median_model(sizes: pd.DataFrame, times: pd.DataFrame) -> Any:
    median = times.median()

    class Median:
        def predict(self, query: pd.DataFrame) -> pd.DataFrame:
            return pd.DataFrame([median.to_numpy()] * len(query), index=query.index,
                                columns=median.index)

    return Median()


def _models() -> dict[str, Any]:
    from metarec.metalearner import FitCostModel

    return {"power law + neighbours (shipped)": lambda s, t: FitCostModel().fit(s, t),
            "power law alone": lambda s, t: FitCostModel(n_neighbors=0).fit(s, t),
            "configuration's median": _median_model}


def _errors(model: Any, sizes: pd.DataFrame, times: pd.DataFrame) -> pd.DataFrame:
    predicted = model.predict(sizes).reindex(columns=times.columns)
    with np.errstate(divide="ignore", invalid="ignore"):
        error = np.log10(predicted) - np.log10(times.where(times > 0))
    return error.stack().rename("error").reset_index()


def held_out(sizes: pd.DataFrame, times: pd.DataFrame, seed: int = 0) -> dict[str, pd.DataFrame]:
    known = sizes.notna().all(axis=1)
    sizes, times = sizes[known], times[known]
    group_of = sizes.astype(str).agg("x".join, axis=1)
    groups = np.array(sorted(group_of.unique()))
    np.random.default_rng(seed).shuffle(groups)
    fold = group_of.map({g: i % GROUPS for i, g in enumerate(groups)})
    out: dict[str, list[pd.DataFrame]] = {}
    for name, make in _models().items():
        for k in range(GROUPS):
            train, test = fold != k, fold == k
            model = make(sizes[train], times[train])
            errors = _errors(model, sizes[test], times[test])
            errors["rows"] = errors.iloc[:, 0].map(sizes["rows"])
            out.setdefault(name, []).append(errors)
    return {name: pd.concat(parts, ignore_index=True) for name, parts in out.items()}


def extrapolated(sizes: pd.DataFrame, times: pd.DataFrame) -> dict[str, pd.DataFrame]:
    train, test = sizes["rows"] < SMALL, sizes["rows"] >= LARGE
    return {name: _errors(make(sizes[train], times[train]), sizes[test], times[test])
            for name, make in _models().items()}


def _figures(errors: pd.Series) -> str:
    e = errors.dropna().abs()
    return (f"{e.median():.3f} | {10 ** e.median():.2f}x | {(e <= np.log10(2)).mean():.0%} | "
            f"{(e <= 1).mean():.0%} | {len(e):,}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--no-write", action="store_true", help="Print, do not write the docs.")
    args = parser.parse_args()

    from bench.report import machine_line, write_section
    from metarec.kb import load
    from metarec.kb.queries import fit_cost_inputs

    kb = load()
    configurations = kb.configurations.set_index("configuration_id")["source"]
    rows = []
    for task in ("classification", "regression"):
        sizes, times = fit_cost_inputs(kb, task)
        if times.empty:
            continue
        for source in sorted(configurations.reindex(times.columns).unique()):
            mine = times.loc[:, configurations.reindex(times.columns).eq(source).to_numpy()]
            mine = mine.dropna(how="all")
            datasets = len(mine)
            for name, errors in held_out(sizes.loc[mine.index], mine).items():
                rows.append(f"| {task} | {source} ({datasets} datasets x {mine.shape[1]} "
                            f"configurations) | {name} | all | {_figures(errors['error'])} |")
                large = errors.loc[errors["rows"] >= LARGE, "error"]
                if large.notna().any():
                    rows.append(f"| {task} | {source} | {name} | datasets of {LARGE:,}+ rows | "
                                f"{_figures(large)} |")
            for name, errors in extrapolated(sizes.loc[mine.index], mine).items():
                rows.append(f"| {task} | {source} | {name} | fitted under {SMALL:,} rows, "
                            f"predicting {LARGE:,}+ | {_figures(errors['error'])} |")
            print("\n".join(rows[-7:]), flush=True)
    md = f"""## Fit-cost prediction (`bench/bench_fit_cost.py`)

How far the predicted fit time of a configuration (`predicted_fit_seconds` in `metarec recommend`)
is from the time the knowledge base recorded, on datasets the model did not see. Leave-datasets-out
in {GROUPS} groups (datasets of identical size, mostly versions of one OpenML dataset, share a
group); each source's configurations separately. Error = |log10 predicted - log10 recorded|
(0.301 = a factor of 2); "fitted under {SMALL:,} rows" fits on the smaller datasets only and
predicts the {LARGE:,}-row-and-larger ones.

| task | times of | model | predicted for | median error | as a factor | within 2x | within 10x \
| predictions |
|---|---|---|---|---:|---:|---:|---:|---:|
{chr(10).join(rows)}

The recorded times are the sources' own (Oboe's runtime matrix: one training per configuration
and dataset; TabRepo: AutoGluon's training time, which stopped early) on their machines, so a
prediction is in those machines' seconds. Imputation is not part of any: Oboe's datasets had no
missing values.
Machine: {machine_line()}. Reproduce: `nice python -m bench.bench_fit_cost`.
"""
    print(md)
    if not args.no_write:
        write_section("fit_cost", md)


if __name__ == "__main__":
    main()
