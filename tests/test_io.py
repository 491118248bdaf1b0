"""Reading datasets: formats, dtypes, and one clear sentence for every kind of bad input."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from metarec.errors import DataError
from metarec.io import load_dataset, read_table

ARFF_TEXT = """% a comment
@relation weather
@attribute outlook {sunny, overcast, rainy}
@attribute temperature numeric
@attribute windy {TRUE, FALSE}
@attribute play {yes, no}
@data
sunny,85,FALSE,no
overcast,?,TRUE,yes
rainy,70,?,yes
sunny,72,TRUE,no
"""

SPARSE_ARFF_TEXT = """@relation sparse
@attribute a numeric
@attribute b numeric
@attribute class {x, y}
@data
{0 1.5, 2 x}
{1 2, 2 y}
{0 3, 1 1, 2 x}
"""


def write(path: Path, text: str | bytes) -> Path:
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def test_csv_types_numeric_and_categorical_columns(tmp_path: Path) -> None:
    path = write(tmp_path / "d.csv", "a,b,c,y\n1,x,?,yes\n2,y,3.5,no\n3,x,4,yes\n")
    data = load_dataset(path, "y")
    assert data.X.dtypes["a"] == np.float64
    assert isinstance(data.X.dtypes["b"], pd.CategoricalDtype)
    assert data.X["c"].isna().sum() == 1  # '?' is a missing marker
    assert data.task == "classification"
    assert list(data.y.cat.categories) == ["no", "yes"]


def test_default_target_is_last_column_and_says_so(tmp_path: Path) -> None:
    path = write(tmp_path / "d.csv", "a,b\n1,0\n2,1\n3,0\n")
    data = load_dataset(path)
    assert data.target == "b"
    assert any("last column" in note for note in data.notes)


def test_regression_target_is_detected(tmp_path: Path) -> None:
    values = np.linspace(0, 1, 50)
    frame = pd.DataFrame({"x": values, "y": values**2 + 0.123})
    frame.to_csv(tmp_path / "r.csv", index=False)
    assert load_dataset(tmp_path / "r.csv", "y").task == "regression"


def test_tsv_parquet_and_gzip_read_the_same_table(tmp_path: Path) -> None:
    frame = pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": ["u", "v", "u"], "y": ["p", "q", "p"]})
    frame.to_csv(tmp_path / "d.tsv", sep="\t", index=False)
    frame.to_parquet(tmp_path / "d.parquet")
    with gzip.open(tmp_path / "d.csv.gz", "wt") as handle:
        frame.to_csv(handle, index=False)
    tables = [read_table(tmp_path / n) for n in ("d.tsv", "d.parquet", "d.csv.gz")]
    for table in tables:
        assert table.shape == (3, 3)
        assert table["a"].tolist() == [1.0, 2.0, 3.0]


def test_arff_nominal_attributes_become_categoricals(tmp_path: Path) -> None:
    path = write(tmp_path / "w.arff", ARFF_TEXT)
    data = load_dataset(path, "play")
    assert list(data.X["outlook"].cat.categories) == ["sunny", "overcast", "rainy"]
    assert data.X["temperature"].isna().sum() == 1
    assert data.X["windy"].isna().sum() == 1


def test_gzipped_and_sparse_arff(tmp_path: Path) -> None:
    with gzip.open(tmp_path / "s.arff.gz", "wt") as handle:
        handle.write(SPARSE_ARFF_TEXT)
    frame = read_table(tmp_path / "s.arff.gz")
    assert frame.shape == (3, 3)
    assert frame["a"].tolist() == [1.5, 0.0, 3.0]
    assert frame["class"].tolist() == ["x", "y", "x"]


def test_missing_target_rows_are_dropped_and_counted(tmp_path: Path) -> None:
    path = write(tmp_path / "d.csv", "a,y\n1,p\n2,\n3,q\n4,p\n")
    data = load_dataset(path, "y")
    assert len(data.y) == 3
    assert any("dropped 1 row" in note for note in data.notes)


def test_constant_column_is_kept(tmp_path: Path) -> None:
    path = write(tmp_path / "d.csv", "a,k,y\n1,5,p\n2,5,q\n3,5,p\n")
    assert "k" in load_dataset(path, "y").X.columns


def test_lenient_mode_repairs_and_reports(tmp_path: Path) -> None:
    path = write(tmp_path / "d.csv", "a,b,m,y\n1,,1,p\n2,,x,q\ninf,,3,p\n4,,4,q\n")
    data = load_dataset(path, "y", lenient=True)
    assert "b" not in data.X.columns
    assert data.X["a"].isna().sum() == 1
    assert isinstance(data.X["m"].dtype, pd.CategoricalDtype)
    assert len(data.notes) == 3


def test_library_raises_data_error(tmp_path: Path) -> None:
    path = write(tmp_path / "d.csv", "a,y\n1,p\n2,p\n")
    with pytest.raises(DataError, match="single class"):
        load_dataset(path, "y")


# Each case: file name, content, extra CLI args, a phrase the error sentence must contain.
BAD_INPUTS = [
    ("empty.csv", "", [], "is empty"),
    ("header.csv", "a,b,y\n", [], "no data rows"),
    ("one_row.csv", "a,y\n1,p\n", [], "at least 2"),
    ("one_class.csv", "a,y\n1,p\n2,p\n3,p\n", [], "single class"),
    ("constant_target.csv", "a,y\n1,0.5\n2,0.5\n3,0.5\n", [], "constant"),
    ("all_missing.csv", "a,b,y\n1,,p\n2,,q\n3,,p\n", [], "entirely missing"),
    ("inf.csv", "a,y\n1,p\ninf,q\n3,p\n", [], "infinite"),
    ("mixed.csv", "a,y\n1,p\n2,q\nabc,p\n4,q\n", [], "mixes numbers and text"),
    ("dupes.csv", "a,a,y\n1,2,p\n3,4,q\n", [], "duplicate column names"),
    (
        "latin1.csv",
        "a,name,y\n1,caf\xe9,p\n2,na\xefve,q\n".encode("latin-1"),
        [],
        "not valid utf-8",
    ),
    ("target.csv", "a,b,y\n1,2,p\n3,4,q\n", ["--target", "Y2"], "not in target.csv"),
    ("no_features.csv", "y\np\nq\n", [], "no feature columns"),
    ("data.xlsx", "not a table", [], "unsupported file type"),
    ("bad.arff", "@relation x\n@attribute a numeric\n@data\n1,2,3\n", [], "not a valid arff"),
    ("bad.parquet", "this is not parquet", [], "not a readable parquet"),
    ("bad.csv.gz", "not gzip at all", [], "could not be read"),
]


@pytest.mark.parametrize(("name", "content", "args", "phrase"), BAD_INPUTS)
def test_bad_input_gets_one_sentence_and_exit_2(cli, tmp_path, name, content, args, phrase):
    path = write(tmp_path / name, content)
    code, stdout, stderr = cli("profile", str(path), *args)
    assert code == 2
    assert "Traceback" not in stderr + stdout
    lines = [line for line in stderr.splitlines() if line.startswith("metarec: error:")]
    assert len(lines) == 1, stderr
    assert phrase.lower() in lines[0].lower()


def test_identifier_like_column_with_100k_categories(cli, tmp_path: Path) -> None:
    n = 100_000
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {"id": [f"row-{i}" for i in range(n)], "x": rng.normal(size=n), "y": rng.integers(0, 2, n)}
    )
    frame.to_csv(tmp_path / "ids.csv", index=False)
    code, _, stderr = cli("profile", str(tmp_path / "ids.csv"), "--target", "y")
    assert code == 2
    assert "identifier" in stderr
    code, stdout, stderr = cli(
        "profile", str(tmp_path / "ids.csv"), "--target", "y", "--lenient", "-g", "simple"
    )
    assert code == 0, stderr
    assert "left out" in stderr


def test_missing_file_and_folder(cli, tmp_path: Path) -> None:
    code, _, stderr = cli("profile", str(tmp_path / "absent.csv"))
    assert code == 2 and "does not exist" in stderr
    code, _, stderr = cli("profile", str(tmp_path))
    assert code == 2 and "folder" in stderr


def test_nothing_the_user_owns_is_modified(cli, tmp_path: Path) -> None:
    path = write(tmp_path / "d.csv", "a,b,y\n1,x,p\n2,y,q\n3,x,p\n4,y,q\n")
    before = path.read_bytes()
    code, _, _ = cli("profile", str(path), "--target", "y", "-g", "simple")
    assert code == 0
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.csv"]
