"""Refresh a knowledge base with runs from the OpenML REST API, incrementally.

Evaluations are listed per flow and metric with ``openml.evaluations.list_evaluations_setups``
in pages of ``page_size`` (10,000 by default), oldest first. A full page can no longer change, so
it is cached on disk and never fetched twice; the last, partial page is always fetched again.
Failed calls are retried with exponential back-off. Only runs whose OpenML run id is not yet in the
knowledge base are added. The result is written atomically under the KB's lock; the shipped
knowledge base itself is never modified (the default target is the user's KB).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from io import StringIO
from pathlib import Path
from typing import Any

import pandas as pd

from metarec.errors import KnowledgeBaseError
from metarec.files import atomic_write_text, cache_root
from metarec.kb import schema, store
from metarec.kb.importers import openml_live

DEFAULT_FLOWS = openml_live.DEFAULT_FLOWS
PAGE_SIZE = 10_000
RETRIES = 4
Progress = Callable[[str], None]


def user_kb_path() -> Path:
    """Where refresh and add write by default: the user's data dir, never the shipped KB."""
    from platformdirs import user_data_dir

    return Path(user_data_dir("metarec", appauthor=False)) / "knowledge_base"


def cache_dir() -> Path:
    return cache_root() / "openml"


def check_target(target: Path, parameter: str = "target") -> None:
    """Refuse the shipped KB; ``parameter``: the caller's name for ``target``, for the message."""
    if target.resolve() == store.default_path().resolve():
        raise KnowledgeBaseError(
            f"the shipped knowledge base is never modified; choose another `{parameter}` "
            f"(the default is {user_kb_path()}).",
            parameters=(parameter,),
        )


def _with_retries(call: Callable[[], pd.DataFrame], what: str, backoff_s: float) -> pd.DataFrame:
    import requests
    from openml.exceptions import OpenMLServerError, OpenMLServerNoResult

    for attempt in range(RETRIES):
        try:
            return call()
        except OpenMLServerNoResult:
            return pd.DataFrame()
        except (requests.RequestException, OpenMLServerError, OSError) as exc:
            if attempt == RETRIES - 1:
                raise KnowledgeBaseError(
                    f"OpenML did not answer {what} after {RETRIES} tries ({exc}); "
                    "check the connection and run the refresh again (finished pages are cached)."
                ) from None
            time.sleep(backoff_s * 2**attempt)
    raise AssertionError("unreachable")


def pages(
    function: str,
    flow: int,
    tasks: list[int] | None,
    page_size: int = PAGE_SIZE,
    cache: Path | None = None,
    backoff_s: float = 2.0,
) -> Iterator[pd.DataFrame]:
    """Yield the evaluations (with setups) of one flow and metric, page by page."""
    import openml

    cache = cache or cache_dir()
    offset = 0
    while True:
        key = hashlib.sha1(json.dumps(
            [openml.config.server, function, flow, sorted(tasks or []), page_size, offset]
        ).encode()).hexdigest()[:20]
        file = cache / f"{key}.json"
        if file.exists():
            page = pd.read_json(StringIO(file.read_text(encoding="utf-8")), orient="records")
        else:
            page = _with_retries(
                lambda offset=offset: openml.evaluations.list_evaluations_setups(
                    function=function, flows=[flow], tasks=tasks, size=page_size,
                    offset=offset, sort_order="asc", output_format="dataframe",
                ),
                f"for flow {flow} ({function}, offset {offset})",
                backoff_s,
            )
            if len(page) >= page_size:  # a full page is final: cache it
                atomic_write_text(file, page.to_json(orient="records"))
        yield page
        if len(page) < page_size:
            return
        offset += page_size


def suite_tasks(suite: int | str, backoff_s: float = 2.0) -> list[int]:
    import openml

    study = _with_retries(lambda: openml.study.get_suite(suite), f"for suite {suite}",
                          backoff_s)
    if isinstance(study, pd.DataFrame):  # OpenML answered "no result"
        raise KnowledgeBaseError(f"OpenML has no benchmark suite {suite!r}.")
    return [int(t) for t in (study.tasks or [])]


def _merge(base: Any, new: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    datasets = base.datasets.copy()
    known = datasets["dataset_id"].isin(new["datasets"]["dataset_id"])
    datasets.loc[known, "source"] = [
        s if "openml" in s.split(",") else ",".join(sorted([*s.split(","), "openml"]))
        for s in datasets.loc[known, "source"]
    ]
    fresh = new["datasets"][~new["datasets"]["dataset_id"].isin(datasets["dataset_id"])]
    used = set(new["runs"]["dataset_id"]) if len(new["runs"]) else set()
    fresh = fresh[fresh["dataset_id"].isin(used)]
    tables = {
        "datasets": pd.concat([datasets, schema.conform("datasets", fresh)], ignore_index=True),
        "metafeatures": base.metafeatures,
        "configurations": pd.concat([base.configurations, new["configurations"]]
                                    ).drop_duplicates("configuration_id"),
        "runs": pd.concat([base.runs, schema.conform("runs", new["runs"])], ignore_index=True),
    }
    return {name: schema.sort(name, schema.conform(name, frame)) for name, frame in tables.items()}


def refresh_openml(
    target: Path | None = None,
    suite: int | str | None = 99,
    flows: tuple[int, ...] = DEFAULT_FLOWS,
    metrics: tuple[str, ...] = ("predictive_accuracy",),
    page_size: int = PAGE_SIZE,
    progress: Progress | None = None,
    cache: Path | None = None,
    backoff_s: float = 2.0,
) -> dict[str, Any]:
    """Add OpenML runs not yet in the KB at ``target``; return what was added."""
    progress = progress or (lambda _msg: None)
    target = Path(target) if target is not None else user_kb_path()
    check_target(target)
    tasks = suite_tasks(suite, backoff_s) if suite is not None else None
    if suite is not None:
        progress(f"suite {suite}: {len(tasks or [])} tasks")
    fetched = []
    for flow in flows:
        for metric in metrics:
            for number, page in enumerate(pages(metric, flow, tasks, page_size, cache,
                                                backoff_s)):
                progress(f"flow {flow}, {metric}: page {number + 1} ({len(page):,} runs)")
                if len(page):
                    fetched.append(page)
    evals = pd.concat(fetched, ignore_index=True) if fetched else pd.DataFrame(
        columns=["run_id", "task_id", "flow_id", "flow_name", "data_id", "data_name",
                 "function", "value", "parameters"])

    n_fetched = len(evals)
    with store.lock_for(target):
        base = store.load(target if (target / schema.MANIFEST).exists() else None)
        seen = set(base.runs["openml_run_id"].dropna().astype(int))
        evals = evals[~evals["run_id"].astype(int).isin(seen)] if len(evals) else evals
        new = openml_live.frames_from_evaluations(evals)
        tables = _merge(base, new)
        runs = tables["runs"]
        mine = runs[runs["source"] == openml_live.SOURCE]
        manifest = dict(base.manifest)
        manifest["sources"] = {**manifest.get("sources", {}), openml_live.SOURCE: {
            "provenance_file": None,
            "provenance": (f"OpenML REST API ({_server()}): evaluations of flows "
                           f"{', '.join(map(str, flows))} ({', '.join(metrics)})"
                           f"{f' on suite {suite}' if suite is not None else ''}, fetched by "
                           f"`metarec kb refresh --openml` on {_now()}"),
            "datasets": int(mine["dataset_id"].nunique()),
            "configurations": int(tables["configurations"]["source"].eq(
                openml_live.SOURCE).sum()),
            "runs": int(len(mine)),
        }}
        manifest["figures"] = {
            "datasets": int(runs["dataset_id"].nunique()),
            "configurations": int(len(tables["configurations"])),
            "runs": int(len(runs)),
        }
        manifest["build_date"] = _now()
        store.write(tables, manifest, target, acquire_lock=False)
    added = len(new["runs"])
    return {"target": str(target), "fetched": int(n_fetched), "added_runs": int(added),
            "unsupported_runs": int(new["skipped"]["unsupported_runs"].iloc[0]),
            "already_known": int(len(seen))}


def _server() -> str:
    import openml

    return str(openml.config.server)


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
