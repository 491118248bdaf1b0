"""Reading datasets: formats, dtypes, and one clear sentence for every kind of bad input."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from metarec import io as metarec_io
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


# An OpenML-style table: six attributes that are '?' in every row, one constant, one infinite.
SIX_EMPTY = (
    "a,e1,e2,e3,e4,e5,e6,k,y\n"
    + "".join(f"{i},?,?,?,?,?,?,5,{'pq'[i % 2]}\n" for i in range(1, 9))
).replace("3,?", "inf,?", 1)


def test_empty_constant_and_infinite_are_repaired_in_one_note(tmp_path: Path) -> None:
    data = load_dataset(write(tmp_path / "d.csv", SIX_EMPTY), "y")
    assert list(data.X.columns) == ["a"]
    assert data.X["a"].isna().sum() == 1
    [note] = data.notes
    assert "6 entirely missing columns ('e1', 'e2', 'e3', 'e4', 'e5', 'e6')" in note
    assert "1 constant column ('k')" in note and "1 infinite value ('a': 1)" in note


def test_a_constant_column_with_missing_values_is_kept(tmp_path: Path) -> None:
    # Whether the value is missing tells rows apart, so this is no constant column.
    path = write(tmp_path / "d.csv", "a,k,y\n1,5,p\n2,,q\n3,5,p\n4,5,q\n")
    assert "k" in load_dataset(path, "y").X.columns


def test_strict_refuses_naming_every_offending_column(tmp_path: Path) -> None:
    with pytest.raises(DataError) as caught:
        load_dataset(write(tmp_path / "d.csv", SIX_EMPTY), "y", strict=True)
    message = str(caught.value)
    assert all(f"'e{i}'" in message for i in range(1, 7))
    assert "'k'" in message and "infinite" in message and "`strict=True`" in message
    assert caught.value.parameters == ("strict",)


def test_strict_and_lenient_contradict(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="pass one of them"):
        load_dataset(write(tmp_path / "d.csv", SIX_EMPTY), "y", strict=True, lenient=True)


def test_lenient_also_repairs_mixed_columns_in_the_same_note(tmp_path: Path) -> None:
    path = write(tmp_path / "d.csv", "a,b,m,y\n1,,1,p\n2,,x,q\ninf,,3,p\n4,,4,q\n")
    with pytest.raises(DataError, match="'m' mixes numbers and text"):
        load_dataset(path, "y")
    data = load_dataset(path, "y", lenient=True)
    assert "b" not in data.X.columns
    assert data.X["a"].isna().sum() == 1
    assert isinstance(data.X["m"].dtype, pd.CategoricalDtype)
    [note] = data.notes
    assert "'b'" in note and "'a': 1" in note and "('m')" in note


def test_every_column_needing_a_judgement_is_named_at_once(tmp_path: Path) -> None:
    path = write(tmp_path / "d.csv", "m1,m2,y\n1,1,p\n2,2,q\nx,3,p\n4,z,q\n")
    with pytest.raises(DataError) as caught:
        load_dataset(path, "y")
    assert "'m1' mixes" in str(caught.value) and "'m2' mixes" in str(caught.value)


def test_nul_bytes_make_a_cell_missing_not_a_category(tmp_path: Path) -> None:
    rows = "".join(f"{i}.5{chr(0) * 3 if i % 3 == 0 else ''},{'pq'[i % 2]}\n" for i in range(9))
    path = write(tmp_path / "d.csv", "a,y\n" + rows)
    data = load_dataset(path, "y")
    assert data.X["a"].dtype == np.float64
    assert data.X["a"].isna().sum() == 3 and data.X["a"].iloc[1] == 1.5
    assert "3 cells with NUL bytes ('a': 3)" in data.notes[0]
    with pytest.raises(DataError, match="NUL bytes"):
        load_dataset(path, "y", strict=True)


def test_nul_bytes_are_found_where_the_parser_would_cut_the_field_at_them(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # pandas 2's reader; with pandas 3 the path runs only when forced
    monkeypatch.setattr(metarec_io, "_PARSER_KEEPS_NUL", False)
    rows = "".join(f"{i}.5{chr(0) * 2 if i % 4 == 0 else ''},{'pq'[i % 2]}\n" for i in range(8))
    gz = tmp_path / "d.csv.gz"
    gz.write_bytes(gzip.compress(("a,y\n" + rows).encode()))
    data = load_dataset(gz, "y")
    assert data.X["a"].isna().tolist() == [i % 4 == 0 for i in range(8)]
    assert data.X["a"].iloc[1] == 1.5
    assert "2 cells with NUL bytes ('a': 2)" in data.notes[0]


def test_dates_become_numeric_parts(tmp_path: Path) -> None:
    when = pd.date_range("2019-12-30 08:00", periods=40, freq="31h")
    frame = pd.DataFrame({"when": when.strftime("%Y-%m-%d %H:%M"), "x": range(40),
                          "y": ["p", "q"] * 20})
    frame.to_csv(tmp_path / "d.csv", index=False)
    data = load_dataset(tmp_path / "d.csv", "y", strict=True)
    parts = ["when_year", "when_month", "when_day", "when_day_of_week", "when_hour"]
    assert list(data.X.columns) == [*parts, "x"]
    assert (data.X[parts].dtypes == np.float64).all()
    assert data.X["when_year"].tolist()[:3] == [2019, 2019, 2020]
    assert data.X["when_day_of_week"].iloc[0] == when[0].day_of_week
    assert "'when': ISO 8601 dates expanded into when_year" in data.notes[0]


def test_day_first_dates_and_parquet_datetimes(tmp_path: Path) -> None:
    # 13/01 can only be day-first; every day is at midnight, so no hour part.
    text = [f"{d:02d}/01/2021" for d in range(13, 29)]
    path = write(tmp_path / "d.csv", "d,y\n" + "".join(f"{t},{'pq'[i % 2]}\n"
                                                       for i, t in enumerate(text)))
    data = load_dataset(path, "y")
    assert list(data.X.columns) == ["d_day", "d_day_of_week"]  # one year, one month: left out
    assert data.X["d_day"].tolist() == list(range(13, 29))
    frame = pd.DataFrame({"t": pd.date_range("2020-01-01", periods=6, freq="45D"),
                          "y": ["p", "q"] * 3})
    frame.to_parquet(tmp_path / "d.parquet")
    assert "t_month" in load_dataset(tmp_path / "d.parquet", "y").X.columns


def test_a_parquet_list_column_is_left_out(tmp_path: Path) -> None:
    frame = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0], "tags": [[1, 2], [3], [], None],
                          "y": ["p", "q", "p", "q"]})
    frame.to_parquet(tmp_path / "d.parquet")
    data = load_dataset(tmp_path / "d.parquet", "y")
    assert list(data.X.columns) == ["x"]
    assert "column of nested values (lists, dicts) ('tags')" in data.notes[0]
    with pytest.raises(DataError, match="nested values"):
        load_dataset(tmp_path / "d.parquet", "y", strict=True)


def test_values_too_large_to_square_are_missing_and_statistics_stay_quiet(tmp_path):
    import warnings

    import metafeatures

    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"big": rng.normal(size=50) * 1e120, "x": rng.normal(size=50),
                          "y": ["p", "q"] * 25})
    frame.loc[[3, 7], "x"] = 1e307  # e.g. an export's stand-in for "no value"
    frame.to_csv(tmp_path / "d.csv", index=False)
    data = load_dataset(tmp_path / "d.csv", "y")
    assert data.X["x"].isna().sum() == 2 and data.X["big"].notna().all()
    assert "2 values beyond ±1e+150 ('x': 2)" in data.notes[0]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an overflow warning fails the test
        values = metafeatures.extract(data.X, data.y, groups=["statistical"], task=data.task)
    scaled = metafeatures.extract(data.X.assign(big=data.X["big"] / 1e120), data.y,
                                  groups=["statistical"], task=data.task)
    assert values["MaxSkewnessOfNumericAtts"] == pytest.approx(
        scaled["MaxSkewnessOfNumericAtts"])
    assert values["MaxKurtosisOfNumericAtts"] == pytest.approx(
        scaled["MaxKurtosisOfNumericAtts"])


def test_semicolons_and_decimal_commas_are_sniffed(tmp_path: Path) -> None:
    path = write(tmp_path / "d.csv", "a;b;y\n1,5;x;p\n-2,25;y;q\n3;x;p\n")
    data = load_dataset(path, "y")
    assert data.X["a"].tolist() == [1.5, -2.25, 3.0]
    assert data.notes == ["read with ';' as the delimiter and ',' as the decimal mark "
                          "(sniffed from the first lines)"]
    # Decimal points stay decimal points; a given delimiter is not sniffed.
    path = write(tmp_path / "p.csv", "a;b;y\n1.5;x;p\n2;y;q\n3;x;p\n")
    assert load_dataset(path, "y").X["a"].tolist() == [1.5, 2.0, 3.0]
    with pytest.raises(DataError, match="target column 'y' is not in"):
        load_dataset(path, "y", sep=",")
    # A comma file whose text holds semicolons stays a comma file.
    path = write(tmp_path / "c.csv", "a,t,y\n1,u;v,p\n2,w;x,q\n3,u;v,p\n")
    assert load_dataset(path, "y").notes == []


def test_a_ragged_table_hints_at_the_delimiter(tmp_path: Path) -> None:
    path = write(tmp_path / "d.csv", "a,b,y\n1,2,p\n3,4,5,q\n")
    with pytest.raises(DataError, match="pass e.g. `sep=';'`") as caught:
        load_dataset(path, "y")
    assert caught.value.parameters == ("sep",)


def test_a_damaged_gzip_stream_is_a_data_error(damaged_gzip: Path) -> None:
    with pytest.raises(DataError, match="damaged or not gzip-compressed"):
        load_dataset(damaged_gzip, "y")


# Each case: file name, content, extra CLI args, a phrase the error sentence must contain.
BAD_INPUTS = [
    ("empty.csv", "", [], "is empty"),
    ("header.csv", "a,b,y\n", [], "no data rows"),
    ("one_row.csv", "a,y\n1,p\n", [], "at least 2"),
    ("one_class.csv", "a,y\n1,p\n2,p\n3,p\n", [], "single class"),
    ("constant_target.csv", "a,y\n1,0.5\n2,0.5\n3,0.5\n", [], "constant"),
    ("all_missing.csv", "a,b,y\n1,,p\n2,,q\n3,,p\n", ["--strict"], "entirely missing"),
    ("inf.csv", "a,y\n1,p\ninf,q\n3,p\n", ["--strict"], "infinite"),
    ("both.csv", "a,y\n1,p\n2,q\n", ["--strict", "--lenient"], "refuses what --lenient"),
    ("all_constant.csv", "a,b,y\n1,2,p\n1,2,q\n", [], "no usable feature columns"),
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
    ("spaces.arff", "@relation x\n@attribute a numeric\n@data\n1 2\n", [], "not a valid arff"),
    ("ragged.csv", "a,b,y\n1,2,p\n3,4,5,q\n", [], "pass e.g. --sep ;"),
    ("sep.csv", "a,y\n1,p\n2,q\n", ["--sep", "ab"], "--sep must be one character"),
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
