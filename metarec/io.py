"""Read a user's dataset into pandas with sensible dtypes and clear errors.

Supported: CSV, TSV, Parquet and ARFF (dense or sparse), each optionally gzip-compressed.
Numeric columns become float64; nominal ARFF attributes, booleans and text become pandas
categoricals. Problems that would silently corrupt a profile (infinite values, columns that are
entirely missing, columns that mix numbers and text, identifier-like text columns) are errors unless
``lenient=True``, in which case they are repaired and each repair is reported in ``Dataset.notes``.
"""

from __future__ import annotations

import csv
import difflib
import gzip
import io
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from metafeatures import infer_task
from metarec.errors import DataError

TaskType = Literal["classification", "regression"]

MISSING_MARKERS = ["?", ""]
# A text column with more distinct values than this share of rows (and at least
# ID_LIKE_MIN_DISTINCT of them) is an identifier or free text, not a category.
ID_LIKE_DISTINCT_SHARE = 0.5
ID_LIKE_MIN_DISTINCT = 1000

# Tables wider than this are consolidated after reading (see read_table).
CONSOLIDATE_MIN_COLUMNS = 1_000
# Float columns checked per vectorised block: bounds the temporary copy (8 MB per 1,000 rows).
TYPE_BLOCK_COLUMNS = 1_000

_SUFFIXES = {
    ".csv": "csv",
    ".txt": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".arff": "arff",
}


@dataclass
class Dataset:
    """A dataset split into features and target, plus what was done to it on the way in."""

    X: pd.DataFrame
    y: pd.Series
    target: str
    task: TaskType
    source: str
    notes: list[str] = field(default_factory=list)


def detect_format(path: Path) -> tuple[str, bool]:
    """Return (format, gzipped) from the file name."""
    suffixes = [s.lower() for s in path.suffixes]
    gzipped = bool(suffixes) and suffixes[-1] == ".gz"
    if gzipped:
        suffixes = suffixes[:-1]
    fmt = _SUFFIXES.get(suffixes[-1]) if suffixes else None
    if fmt is None:
        raise DataError(
            f"{path.name}: unsupported file type; metarec reads .csv, .tsv, .parquet and .arff "
            "files (optionally .gz)."
        )
    return fmt, gzipped


def read_table(path: str | Path, encoding: str = "utf-8") -> pd.DataFrame:
    """Read a table from disk without interpreting any column as the target."""
    path = Path(path)
    if path.is_dir():
        raise DataError(f"{path} is a folder, not a data file.")
    if not path.exists():
        raise DataError(f"{path} does not exist.")
    if path.stat().st_size == 0:
        raise DataError(f"{path.name} is empty.")
    fmt, gzipped = detect_format(path)
    try:
        if fmt == "parquet":
            frame = _read_parquet(path)
        elif fmt == "arff":
            frame = _read_arff(path, gzipped, encoding)
        else:
            frame = _read_delimited(path, gzipped, encoding, sep="\t" if fmt == "tsv" else ",")
    except UnicodeDecodeError as exc:
        raise DataError(
            f"{path.name} is not valid {encoding} text (bad byte at position {exc.start}); "
            "re-save it as UTF-8 or pass its encoding, e.g. `encoding='latin-1'`.",
            parameters=("encoding",),
        ) from None
    except (EOFError, OSError, gzip.BadGzipFile) as exc:
        raise DataError(f"{path.name} could not be read: {exc}.") from None
    if frame.shape[1] == 0:
        raise DataError(f"{path.name} has no columns.")
    if len(frame) == 0:
        raise DataError(f"{path.name} has a header but no data rows.")
    frame.columns = [str(c) for c in frame.columns]
    if frame.shape[1] > CONSOLIDATE_MIN_COLUMNS:
        # pandas' readers leave one block per column; every later step (selecting, dropping,
        # converting to numpy) then loops over the blocks in Python, seconds each at 100,000
        # columns. One copy joins the columns of each dtype into one block.
        frame = frame.copy()
        _release_freed_memory()
    return frame


def _release_freed_memory() -> None:
    """Hand the heap memory freed by the per-column arrays back to the operating system.

    glibc keeps small freed blocks in its heap, where the large arrays allocated later cannot
    use them: without this, a 1,000 x 100,000 table holds 1.6 GB more than it needs.
    """
    import ctypes
    import sys

    if not sys.platform.startswith("linux"):
        return
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass  # not glibc (musl): nothing to release this way


def _open_text(path: Path, gzipped: bool, encoding: str) -> io.TextIOBase:
    if gzipped:
        return gzip.open(path, "rt", encoding=encoding, errors="strict", newline="")
    return open(path, encoding=encoding, errors="strict", newline="")  # noqa: SIM115


def _read_delimited(path: Path, gzipped: bool, encoding: str, sep: str) -> pd.DataFrame:
    with _open_text(path, gzipped, encoding) as handle:
        header = next(csv.reader(handle, delimiter=sep), None)
    if not header or all(not h.strip() for h in header):
        raise DataError(f"{path.name} is empty.")
    duplicated = _duplicates(header)
    if duplicated:
        raise DataError(
            f"{path.name} has duplicate column names ({', '.join(map(repr, duplicated))}); "
            "rename them so each column has its own name."
        )
    try:
        return pd.read_csv(
            path,
            sep=sep,
            compression="gzip" if gzipped else None,
            encoding=encoding,
            encoding_errors="strict",
            na_values=MISSING_MARKERS,
            keep_default_na=True,
            skipinitialspace=True,
            low_memory=False,
        )
    except pd.errors.EmptyDataError:
        raise DataError(f"{path.name} is empty.") from None
    except pd.errors.ParserError as exc:
        raise DataError(f"{path.name} is not a well-formed table: {str(exc).strip()}.") from None


def _duplicates(names: list[str]) -> list[str]:
    # A Counter, not list.count per name: that is quadratic, over a minute at 100,000 columns.
    return sorted(name for name, count in Counter(names).items() if count > 1)


def _read_parquet(path: Path) -> pd.DataFrame:
    try:
        return pd.read_parquet(path)
    except Exception as exc:  # pyarrow raises many unrelated types for a bad file
        raise DataError(f"{path.name} is not a readable Parquet file ({exc}).") from None


def _read_arff(path: Path, gzipped: bool, encoding: str) -> pd.DataFrame:
    import arff  # liac-arff: the parser openml-python uses

    with _open_text(path, gzipped, encoding) as handle:
        text = handle.read()
    try:
        decoded = arff.loads(text, return_type=arff.DENSE)
        data = decoded["data"]
        frame = pd.DataFrame(data, columns=[name for name, _ in decoded["attributes"]])
    except arff.BadLayout:
        decoded = arff.loads(text, return_type=arff.COO)
        values, (rows, cols) = decoded["data"][0], decoded["data"][1:]
        dense = np.zeros((max(rows) + 1 if rows else 0, len(decoded["attributes"])), dtype=object)
        dense[rows, cols] = values
        frame = pd.DataFrame(dense, columns=[name for name, _ in decoded["attributes"]])
    except arff.ArffException as exc:
        raise DataError(f"{path.name} is not a valid ARFF file: {exc}.") from None
    duplicated = _duplicates([name for name, _ in decoded["attributes"]])
    if duplicated:
        raise DataError(f"{path.name} has duplicate attribute names ({', '.join(duplicated)}).")
    for name, kind in decoded["attributes"]:
        if isinstance(kind, list):
            frame[name] = pd.Categorical(frame[name], categories=kind)
        elif str(kind).upper() in {"NUMERIC", "REAL", "INTEGER"}:
            frame[name] = pd.to_numeric(frame[name], errors="coerce").astype("float64")
    return frame


def type_columns(frame: pd.DataFrame, lenient: bool = False) -> tuple[pd.DataFrame, list[str]]:
    """Give every column a numeric (float64) or categorical dtype.

    Returns the typed frame and the notes describing any repair made under ``lenient``.
    """
    notes: list[str] = []
    replaced: dict[str, pd.Series] = {}
    dropped: set[str] = set()
    n_rows = len(frame)
    # Float columns without infinite values that are not entirely missing need nothing done; they
    # are found in one vectorised pass, since a pandas loop over every column takes tens of
    # seconds at 100,000 columns. Every other column is checked one by one, in column order.
    clean = _clean_float_columns(frame)
    for position, name in enumerate(frame.columns):
        if clean[position]:
            continue
        original = frame.iloc[:, position]
        col = original
        if isinstance(col.dtype, pd.CategoricalDtype):
            col = col.cat.remove_unused_categories()
        elif pd.api.types.is_bool_dtype(col):
            col = col.astype("category")
        elif pd.api.types.is_numeric_dtype(col):
            col = col.astype("float64")
        else:
            col = _type_text_column(name, col, lenient, notes)
        if pd.api.types.is_float_dtype(col):
            n_inf = int(np.isinf(col.to_numpy()).sum())
            if n_inf:
                if not lenient:
                    raise DataError(
                        f"column {name!r} contains {n_inf} infinite value(s); replace them, or "
                        "pass `lenient=True` to treat them as missing.",
                        parameters=("lenient",),
                    )
                col = col.replace([np.inf, -np.inf], np.nan)
                notes.append(f"column {name!r}: {n_inf} infinite value(s) treated as missing")
        elif isinstance(col.dtype, pd.CategoricalDtype):
            n_distinct = len(col.cat.categories)
            if n_distinct >= ID_LIKE_MIN_DISTINCT and n_distinct > ID_LIKE_DISTINCT_SHARE * n_rows:
                if not lenient:
                    raise DataError(
                        f"column {name!r} has {n_distinct} distinct values in {n_rows} rows, so "
                        "it looks like an identifier or free text; drop it, or pass "
                        "`lenient=True` to leave it out.",
                        parameters=("lenient",),
                    )
                notes.append(
                    f"column {name!r}: left out, {n_distinct} distinct values look like an "
                    "identifier or free text"
                )
                dropped.add(name)
                continue
        if col.isna().all():
            if not lenient:
                raise DataError(
                    f"column {name!r} is entirely missing; drop it, or pass `lenient=True` to "
                    "leave it out.",
                    parameters=("lenient",),
                )
            notes.append(f"column {name!r}: left out, every value is missing")
            dropped.add(name)
            continue
        if col is not original:
            replaced[name] = col
    kept = [c for c in frame.columns if c not in dropped]
    typed = frame[kept] if dropped else frame.copy(deep=False)
    for name, col in replaced.items():
        typed[name] = col
    return typed, notes


def _clean_float_columns(frame: pd.DataFrame) -> np.ndarray:
    """Per column: float64, no infinite value and not entirely missing."""
    clean = np.array(frame.dtypes == np.dtype("float64"), dtype=bool)
    positions = np.flatnonzero(clean)
    for start in range(0, positions.size, TYPE_BLOCK_COLUMNS):
        block = positions[start : start + TYPE_BLOCK_COLUMNS]
        values = frame.iloc[:, block].to_numpy(dtype=np.float64)
        clean[block] = ~np.isinf(values).any(axis=0) & ~np.isnan(values).all(axis=0)
    return clean


def _type_text_column(name: str, col: pd.Series, lenient: bool, notes: list[str]) -> pd.Series:
    present = col.dropna()
    as_text = present.astype(str).str.strip()
    as_number = pd.to_numeric(as_text, errors="coerce")
    n_numeric = int(as_number.notna().sum())
    if len(present) and n_numeric == len(present):
        return pd.to_numeric(col.astype(str).str.strip().where(col.notna()), errors="coerce")
    if n_numeric and n_numeric >= 0.5 * len(present):
        example = as_text[as_number.isna()].iloc[0]
        if not lenient:
            raise DataError(
                f"column {name!r} mixes numbers and text (e.g. {example!r}); clean it, or pass "
                "`lenient=True` to treat it as categorical.",
                parameters=("lenient",),
            )
        notes.append(f"column {name!r}: mixes numbers and text, treated as categorical")
    return col.where(col.isna(), col.astype(str).str.strip()).astype("category")


def split_target(
    frame: pd.DataFrame,
    target: str | None,
    source: str = "data",
    task: TaskType | None = None,
) -> Dataset:
    """Separate the target column, drop rows whose target is missing, and check the task."""
    notes: list[str] = []
    if target is None:
        target = str(frame.columns[-1])
        notes.append(f"no target given; using the last column {target!r}")
    elif target not in frame.columns:
        close = difflib.get_close_matches(target, [str(c) for c in frame.columns], n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        shown = ", ".join(map(repr, list(frame.columns)[:10]))
        more = ", ..." if frame.shape[1] > 10 else ""
        raise DataError(
            f"target column {target!r} is not in {source} (columns: {shown}{more}).{hint}"
        )
    y = frame[target]
    X = frame.drop(columns=[target])
    missing_target = y.isna()
    if missing_target.all():
        raise DataError(f"the target column {target!r} has no values.")
    if missing_target.any():
        notes.append(f"dropped {int(missing_target.sum())} row(s) whose target is missing")
        X, y = X.loc[~missing_target], y.loc[~missing_target]
    if X.shape[1] == 0:
        raise DataError(f"{source} has no feature columns besides the target {target!r}.")
    if len(y) < 2:
        raise DataError(f"{source} has {len(y)} usable row(s); at least 2 are needed.")
    # The same rule the meta-features use, so a profile and a recommendation agree on the task.
    task = task or infer_task(y)  # type: ignore[assignment]
    if task == "classification":
        if not isinstance(y.dtype, pd.CategoricalDtype):
            y = y.astype("category")
        y = y.cat.remove_unused_categories()
        if len(y.cat.categories) < 2:
            raise DataError(
                f"the target {target!r} has a single class ({y.cat.categories[0]!r}); "
                "at least two classes are needed."
            )
    elif y.nunique() < 2:
        raise DataError(f"the target {target!r} is constant; there is nothing to predict.")
    return Dataset(X=X, y=y, target=target, task=task, source=source, notes=notes)


def load_dataset(
    path: str | Path,
    target: str | None = None,
    *,
    lenient: bool = False,
    encoding: str = "utf-8",
    task: TaskType | None = None,
) -> Dataset:
    """Read ``path``, type its columns and split off the target (the last column by default)."""
    path = Path(path)
    frame = read_table(path, encoding=encoding)
    if target is not None and target not in frame.columns:
        split_target(frame, target, source=path.name)  # raises the friendly error
    target_col = frame[target] if target is not None else frame.iloc[:, -1]
    target_name = target if target is not None else str(frame.columns[-1])
    features, notes = type_columns(frame.drop(columns=[target_name]), lenient=lenient)
    typed_target, _ = type_columns(target_col.to_frame(), lenient=True)
    if typed_target.shape[1] == 0:
        raise DataError(f"the target column {target_name!r} has no usable values.")
    features[target_name] = typed_target[target_name]
    dataset = split_target(features, target, source=path.name, task=task)
    dataset.notes = dataset.notes + notes
    return dataset
