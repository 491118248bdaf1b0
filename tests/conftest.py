"""Shared fixtures: the location of ../shared/data, a CLI runner that keeps stderr apart, and
builders of small knowledge bases and datasets (factory fixtures where they take parameters)."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"

requires_shared_data = pytest.mark.skipif(
    not SHARED_DATA.exists(),
    reason=f"needs the shared data folder {SHARED_DATA}, which is not present here",
)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.exists():
        pytest.skip(f"needs the shared data folder {SHARED_DATA}, which is not present here")
    return SHARED_DATA


@pytest.fixture
def cli():
    """Invoke the metarec CLI in-process; returns (exit_code, stdout, stderr)."""
    from metarec.cli.main import app
    from typer.testing import CliRunner

    runner = CliRunner()

    def invoke(*args: str) -> tuple[int, str, str]:
        result = runner.invoke(app, list(args))
        return result.exit_code, result.stdout, result.stderr

    return invoke


@pytest.fixture
def dask_cluster() -> Iterator[object]:
    """A two-worker Dask cluster in this process (one thread each): `kb add` and the run
    campaigns run on it through ``scheduler=cluster.scheduler_address``."""
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                      dashboard_address=None) as cluster:
        yield cluster


# -- storage-level knowledge bases -------------------------------------------------------------
def _tiny_tables(n_runs: int = 4) -> dict[str, pd.DataFrame]:
    datasets = pd.DataFrame({
        "dataset_id": ["openml-1", "openml-2"], "name": ["one", "two"], "source": "test",
        "openml_did": [1, 2], "openml_task_id": [10, pd.NA], "task_type": "classification",
        "n_instances": [100, 200], "n_features": [5, 6], "n_classes": [2, 3],
        "has_missing": [False, True], "id_mapping": "dataset id stated by the source",
    })
    metafeatures = pd.DataFrame({
        "dataset_id": ["openml-1", "openml-2"], "quality": "NumberOfInstances",
        "value": [100.0, 200.0], "origin": "openml", "source": "test",
    })
    spec = json.dumps({"algorithm": "gaussian_nb"})
    configurations = pd.DataFrame({
        "configuration_id": ["test-a"], "source": "test", "task_type": "classification",
        "algorithm": "gaussian_nb", "imputer": "mean", "hyperparameters": "{}",
        "original": "{}", "translation": "", "spec": spec,
    })
    runs = pd.DataFrame({
        "dataset_id": [f"openml-{1 + i % 2}" for i in range(n_runs)],
        "openml_task_id": pd.array([pd.NA] * n_runs, dtype="Int64"),
        "configuration_id": "test-a", "metric": [f"m{i}" for i in range(n_runs)],
        "value": [0.1 * i for i in range(n_runs)], "higher_is_better": False,
        "runtime_s": 1.0, "source": "test",
    })
    return {"datasets": datasets, "metafeatures": metafeatures,
            "configurations": configurations, "runs": runs}


def _kb_manifest() -> dict:
    from metarec.kb import schema, store

    return {"format": store.FORMAT, "kb_version": schema.KB_VERSION, "build_date": "test"}


@pytest.fixture(scope="session")
def tiny_tables():
    """Factory: ``tiny_tables(n_runs=4)`` gives the four tables of a knowledge base with two
    datasets, one configuration and ``n_runs`` runs (new frames on every call)."""
    return _tiny_tables


@pytest.fixture(scope="session")
def kb_manifest():
    """Factory: ``kb_manifest()`` gives a minimal valid manifest (a new dict on every call)."""
    return _kb_manifest


# -- a small, real knowledge base for the recommender ------------------------------------------
# Synthetic datasets, really profiled, with runs whose ranking depends on the datasets'
# meta-features in a known way.
KB_CONFIGURATIONS = {
    "tree-shallow": {"algorithm": "decision_tree", "hyperparameters": {"max_depth": 2}},
    "tree-deep": {"algorithm": "decision_tree", "hyperparameters": {"max_depth": 12}},
    "knn-5": {"algorithm": "k_nearest_neighbors", "hyperparameters": {"n_neighbors": 5}},
    "logreg": {"algorithm": "logistic_regression", "hyperparameters": {"C": 1.0}},
    "forest": {"algorithm": "random_forest", "hyperparameters": {"n_estimators": 20}},
    "nb": {"algorithm": "gaussian_nb", "hyperparameters": {}},
}


def _synthetic_dataset(
    n_rows: int, n_features: int, seed: int, missing: float = 0.0
) -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(
        rng.normal(size=(n_rows, n_features)), columns=[f"f{i}" for i in range(n_features)]
    )
    if n_features > 2:
        X["cat"] = pd.Categorical(rng.choice(["a", "b", "c"], n_rows))
    logits = X.iloc[:, 0] - 0.5 * X.iloc[:, 1 % n_features]
    y = pd.Series(
        pd.Categorical(np.where(logits + rng.normal(scale=0.5, size=n_rows) > 0, "p", "n"))
    )
    if missing:
        mask = rng.uniform(size=X.shape) < missing
        X = X.mask(mask)
    return X, y


def _fit_seconds(n_rows: float, config: str) -> float:
    """The recorded fit time of ``config`` on ``n_rows`` rows: a power law in the rows (kNN's
    quadratic), so a cost model's predictions can be checked against it."""
    return 2e-7 * n_rows**2 if config == "knn-5" else 1e-4 * n_rows


def _performance(profile: pd.Series, config: str) -> float:
    """Balanced error rate that depends on size and width, so the best configuration varies."""
    n = profile["NumberOfInstances"]
    width = profile["NumberOfNumericFeatures"]
    base = {
        "tree-shallow": 0.30 - 0.0001 * n,
        "tree-deep": 0.35 - 0.0002 * n,
        "knn-5": 0.20 + 0.02 * width,
        "logreg": 0.18 + 0.004 * width,
        "forest": 0.22 - 0.00005 * n,
        "nb": 0.25,
    }[config]
    return float(np.clip(base, 0.01, 0.99))


def _make_kb(out: Path, n_datasets: int = 30) -> Path:
    """Write a knowledge base of ``n_datasets`` profiled classification datasets to ``out``."""
    import metafeatures
    from metarec import pipelines
    from metarec.kb import schema, store

    datasets, mf_rows, run_rows = [], [], []
    for i in range(n_datasets):
        n_rows = 60 + 40 * (i % 10)
        n_features = 2 + (i * 7) % 15
        X, y = _synthetic_dataset(n_rows, n_features, seed=i, missing=0.05 * (i % 3 == 0))
        profile = metafeatures.extract(X, y, groups=["simple", "statistical", "info-theory"])
        dataset_id = f"synthetic-{i}"
        datasets.append(
            {
                "dataset_id": dataset_id,
                "name": f"synthetic {i}",
                "source": "test",
                "openml_did": pd.NA,
                "openml_task_id": pd.NA,
                "task_type": "classification",
                "n_instances": n_rows,
                "n_features": X.shape[1],
                "n_classes": 2,
                "has_missing": bool(X.isna().any().any()),
                "id_mapping": "",
            }
        )
        mf_rows += [
            {
                "dataset_id": dataset_id,
                "quality": q,
                "value": v,
                "origin": "local",
                "source": "test",
            }
            for q, v in profile.items()
        ]
        run_rows += [
            {
                "dataset_id": dataset_id,
                "openml_task_id": pd.NA,
                "configuration_id": config,
                "metric": "balanced_error_rate",
                "value": _performance(profile, config),
                "higher_is_better": False,
                "runtime_s": _fit_seconds(n_rows, config),
                "source": "test",
            }
            for config in KB_CONFIGURATIONS
        ]
    config_rows = []
    for config, raw in KB_CONFIGURATIONS.items():
        spec = pipelines.normalize_spec({"task": "classification", "imputer": "median", **raw})
        config_rows.append(
            {
                "configuration_id": config,
                "source": "test",
                "task_type": "classification",
                "algorithm": raw["algorithm"],
                "imputer": "median",
                "hyperparameters": json.dumps(raw["hyperparameters"]),
                "original": json.dumps(raw),
                "translation": "",
                "spec": json.dumps(spec),
            }
        )
    tables = {
        "datasets": pd.DataFrame(datasets),
        "metafeatures": pd.DataFrame(mf_rows),
        "configurations": pd.DataFrame(config_rows),
        "runs": pd.DataFrame(run_rows),
    }
    manifest = {
        "format": store.FORMAT,
        "kb_version": schema.KB_VERSION,
        "build_date": "test",
        "sources": {"test": {"provenance": "synthetic datasets made by tests/conftest.py"}},
    }
    store.write(tables, manifest, out)
    return out


@pytest.fixture(scope="session")
def synthetic_dataset():
    """Factory: ``synthetic_dataset(n_rows, n_features, seed, missing=0.0)`` gives (X, y), a
    binary classification whose class follows the first two columns."""
    return _synthetic_dataset


@pytest.fixture(scope="session")
def make_kb():
    """Factory: ``make_kb(out, n_datasets=30)`` writes the recommender's test knowledge base
    (configurations: ``kb_configurations``) to ``out`` and returns ``out``."""
    return _make_kb


@pytest.fixture(scope="session")
def kb_fit_seconds():
    """Factory: ``kb_fit_seconds(n_rows, configuration_id)`` is the fit time ``make_kb`` records
    for that configuration on a dataset of ``n_rows`` rows (independent of the columns)."""
    return _fit_seconds


@pytest.fixture(scope="session")
def kb_configurations() -> dict[str, dict]:
    """The configurations of ``make_kb``'s knowledge base, by configuration id."""
    return json.loads(json.dumps(KB_CONFIGURATIONS))


# -- imputation ----------------------------------------------------------------------------------
def _synthetic_imputation_kb(n: int = 90, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Meta-features and CV scores where iterative wins when missingness is predictable."""
    rng = np.random.default_rng(seed)
    mf = pd.DataFrame({
        "MissingValueRate": rng.uniform(0.02, 0.4, n),
        "MeanMissingPredictability": rng.uniform(0, 1, n),
        "NumberOfInstances": rng.integers(100, 2000, n).astype(float),
    }, index=[f"d{i}" for i in range(n)])
    configs = [f"{fam}:{imp}" for fam in ("linear", "lightgbm")
               for imp in ("mean", "median", "iterative")] + ["lightgbm:native"]
    perf = pd.DataFrame(0.7 + rng.normal(0, 0.003, (n, len(configs))), index=mf.index,
                        columns=configs)
    good = np.where(mf["MeanMissingPredictability"] > 0.5, "iterative", "mean")
    for i, d in enumerate(mf.index):
        for fam in ("linear", "lightgbm"):
            perf.loc[d, f"{fam}:{good[i]}"] += 0.05
    return mf, perf


@pytest.fixture(scope="session")
def synthetic_imputation_kb():
    """Factory: ``synthetic_imputation_kb(n=90, seed=0)`` gives (meta-features, scores) of ``n``
    datasets on which the iterative imputer wins where missingness is predictable, mean
    elsewhere (new frames on every call)."""
    return _synthetic_imputation_kb


# -- bad data files --------------------------------------------------------------------------
@pytest.fixture
def damaged_gzip(tmp_path) -> Path:
    """A .csv.gz whose gzip header is valid and whose compressed stream is not."""
    import gzip

    text = "a,b,y\n" + "".join(f"{i},{i * 7 % 13},{'pq'[i % 2]}\n" for i in range(2000))
    raw = bytearray(gzip.compress(text.encode()))
    raw[40:60] = bytes(b ^ 0xFF for b in raw[40:60])
    path = tmp_path / "damaged.csv.gz"
    path.write_bytes(bytes(raw))
    return path


@pytest.fixture
def six_empty_columns(tmp_path) -> Path:
    """An OpenML-style table: six attributes that are '?' in every row and one constant."""
    rows = "".join(f"{i},{i % 3},?,?,?,?,?,?,5,{'pq'[i % 2]}\n" for i in range(1, 41))
    path = tmp_path / "six_empty.csv"
    path.write_text("a,b,e1,e2,e3,e4,e5,e6,k,y\n" + rows, encoding="utf-8")
    return path


# -- costly configurations -----------------------------------------------------------------------
@pytest.fixture(scope="session")
def slow_svm() -> tuple[pd.DataFrame, pd.Series, dict]:
    """(X, y, spec): a cubic-kernel SVM with a large C and gamma on 100 rows of two columns with
    random labels. libsvm does not converge on it: 10 million iterations (7 s here) were not
    enough, so without an iteration limit the fit runs on."""
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(100, 2)), columns=["a", "b"])
    y = pd.Series(rng.integers(0, 2, 100), name="y")
    spec = {"task": "classification", "algorithm": "svm",
            "hyperparameters": {"kernel": "poly", "degree": 3, "gamma": 8.0, "C": 30000.0,
                                "coef0": 0.0}}
    return X, y, spec


# -- a throwaway PostgreSQL server -------------------------------------------------------------
# CI sets METAREC_REQUIRE_POSTGRES=1 (.ci/run), so a server that cannot start fails there
# instead of skipping; METAREC_TEST_POSTGRES_URL points the tests at a server already running.
POSTGRES_URL_ENV = "METAREC_TEST_POSTGRES_URL"
POSTGRES_REQUIRED_ENV = "METAREC_REQUIRE_POSTGRES"


def _no_postgres(reason: str) -> None:
    if os.environ.get(POSTGRES_REQUIRED_ENV):
        pytest.fail(f"{POSTGRES_REQUIRED_ENV} is set, but {reason}")
    pytest.skip(reason)


def _postgres_bin() -> Path | None:
    """The folder of initdb and pg_ctl: on PATH, or Debian's /usr/lib/postgresql/N/bin (which
    Debian keeps off PATH), newest version first."""
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl"):
        return Path(found).resolve().parent
    debian = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"),
                    key=lambda p: int(p.parts[-3]) if p.parts[-3].isdigit() else 0)
    return debian[-1].parent if debian else None


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A URL ``postgresql://metarec@127.0.0.1:PORT/metarec_studies`` of a PostgreSQL server
    started for this test session from the local server binaries (trust authentication, no
    password, removed afterwards). Skips with the reason when none can be started."""
    given = os.environ.get(POSTGRES_URL_ENV)
    if given:
        yield given
        return
    try:
        import psycopg
    except ImportError:
        _no_postgres("the PostgreSQL driver is not installed (pip install 'metarec[postgres]')")
    bin_dir = _postgres_bin()
    if bin_dir is None:
        _no_postgres("no PostgreSQL server binaries (initdb, pg_ctl) here; install the server "
                     "(Debian: apt-get install postgresql)")
    run_as: str | None = None
    if getattr(os, "geteuid", lambda: -1)() == 0:
        # PostgreSQL refuses to run as root; Debian's package creates the postgres account.
        import pwd

        try:
            pwd.getpwnam("postgres")
        except KeyError:
            _no_postgres("running as root, and there is no postgres account to run the server")
        run_as = "postgres"
    home = Path(tempfile.mkdtemp(prefix="metarec-pg-"))
    if run_as is not None:
        shutil.chown(home, user=run_as)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    data, log = home / "data", home / "server.log"

    def pg(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([str(bin_dir / args[0]), *args[1:]], user=run_as, cwd=home,
                              capture_output=True, text=True, timeout=120)

    started = False
    try:
        made = pg("initdb", "-D", str(data), "-U", "metarec", "--auth=trust", "-E", "UTF8",
                  "--no-instructions")
        if made.returncode != 0:
            _no_postgres(f"initdb failed: {made.stderr.strip()[-300:]}")
        # fsync off: a throwaway server need not survive a power cut, and tests run faster.
        options = f"-p {port} -k {home} -c listen_addresses=127.0.0.1 -c fsync=off"
        up = pg("pg_ctl", "-D", str(data), "-o", options, "-l", str(log), "-w", "-t", "60",
                "start")
        started = up.returncode == 0
        if not started:
            tail = log.read_text(errors="replace")[-300:] if log.exists() else up.stderr
            _no_postgres(f"the PostgreSQL server did not start: {tail.strip()}")
        with psycopg.connect(f"postgresql://metarec@127.0.0.1:{port}/postgres",
                             autocommit=True) as connection:
            connection.execute("CREATE DATABASE metarec_studies")
        yield f"postgresql://metarec@127.0.0.1:{port}/metarec_studies"
    finally:
        if started:
            pg("pg_ctl", "-D", str(data), "-m", "immediate", "stop")
        shutil.rmtree(home, ignore_errors=True)


# -- the recommender on a small, real knowledge base built by the tests -------------------------
@pytest.fixture(scope="module")
def synthetic_kb_dir(tmp_path_factory: pytest.TempPathFactory, make_kb) -> Path:
    """A knowledge base of synthetic datasets and real configurations (see ``make_kb``)."""
    return make_kb(tmp_path_factory.mktemp("kb") / "knowledge_base")


@pytest.fixture(scope="module")
def isolated_learner_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """METAREC_CACHE_DIR pointed at a fresh folder for the module: fitted learners and cached
    evidence never land in the user's cache."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("METAREC_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
        yield
