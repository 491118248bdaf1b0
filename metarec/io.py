"""Read a user's dataset into pandas with sensible dtypes and clear errors.

Supported: CSV (the delimiter is sniffed: comma, semicolon, tab or pipe), TSV, Parquet and ARFF
(dense or sparse), each optionally gzip-compressed. Numeric columns become float64; nominal ARFF
attributes, booleans and text become pandas categoricals; dates become numeric parts (year, month,
day, day of week, hour where present) and durations seconds.

Three levels of repair, one note (``Dataset.notes``) saying what was done to which columns:

* by default, what can be repaired without guessing is: columns that are entirely missing or
  constant, and columns whose cells hold nested values (lists, dicts), are left out; infinite
  values, values too large to square in float64 and cells with NUL bytes become missing;
* ``strict=True`` repairs nothing and refuses instead, naming every offending column at once;
* ``lenient=True`` also repairs what needs a judgement: a column mixing numbers and text becomes
  categorical and an identifier-like text column is left out (by default both are refused).

The column rules live in :mod:`metarec.columns`; this module reads files.
"""

from __future__ import annotations

import csv
import difflib
import gzip
import io
import re
import zlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from metafeatures import infer_task
from metarec.columns import (
    NUL_STAND_IN,
    Findings,
    check_regression_target,
    type_columns,
    typed_column,
)
from metarec.errors import DataError

TaskType = Literal["classification", "regression"]

MISSING_MARKERS = ["?", ""]
# A target inferred to be a regression target (metafeatures.infer_task: numbers, not all whole or
# more than 20 distinct) that takes this few distinct values, each on several rows, is a set of
# levels: recommend, tune and kb add refuse to guess, and say how to have it classified. (A
# caller who means regression says so: ``load_dataset(..., task="regression")``.)
FEW_TARGET_VALUES = 5
ROWS_PER_LEVEL = 4
# Delimiters the sniffer chooses from for a .csv file, the comma first.
DELIMITERS = (",", ";", "\t", "|")
SNIFF_BYTES = 64 * 1024
# pandas 2's C parser ends a field at a NUL byte, so "1.5\0\0" reads as 1.5 and the corrupt
# cell goes unnoticed; there a file with NULs is read with each one as NUL_STAND_IN instead.
_PARSER_KEEPS_NUL = int(pd.__version__.split(".")[0]) >= 3

# Tables wider than this are consolidated after reading (see read_table).
CONSOLIDATE_MIN_COLUMNS = 1_000

_SUFFIXES = {
    ".csv": "csv",
    ".txt": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".arff": "arff",
}
_DECIMAL_COMMA = re.compile(r"^[+-]?\d*,\d+$")
_DECIMAL_POINT = re.compile(r"^[+-]?\d*\.\d+$")


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


def read_table(path: str | Path, encoding: str = "utf-8", sep: str | None = None) -> pd.DataFrame:
    """Read a table from disk without interpreting any column as the target.

    ``sep``: the delimiter of a CSV/TSV file; by default a .csv file's is sniffed from its first
    lines and a .tsv file's is a tab."""
    return _read(Path(path), encoding, sep)[0]


def _read(path: Path, encoding: str, sep: str | None) -> tuple[pd.DataFrame, list[str]]:
    """The table and the notes on how it was read (a delimiter other than the comma)."""
    if path.is_dir():
        raise DataError(f"{path} is a folder, not a data file.")
    if not path.exists():
        raise DataError(f"{path} does not exist.")
    if path.stat().st_size == 0:
        raise DataError(f"{path.name} is empty.")
    fmt, gzipped = detect_format(path)
    notes: list[str] = []
    try:
        if fmt == "parquet":
            frame = _read_parquet(path)
        elif fmt == "arff":
            frame = _read_arff(path, gzipped, encoding)
        else:
            frame = _read_delimited(path, gzipped, encoding, fmt, sep, notes)
    except UnicodeDecodeError as exc:
        raise DataError(
            f"{path.name} is not valid {encoding} text (bad byte at position {exc.start}); "
            "re-save it as UTF-8 or pass its encoding, e.g. `encoding='latin-1'`.",
            parameters=("encoding",),
        ) from None
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
        # zlib.error is not an OSError: a damaged gzip stream raises it from the middle of a read.
        raise DataError(
            f"{path.name} could not be read: it is damaged or not gzip-compressed ({exc})."
        ) from None
    except OSError as exc:
        raise DataError(f"{path.name} could not be read: {exc}.") from None
    except LookupError:
        raise DataError(
            f"{encoding!r} is not a text encoding Python knows; pass e.g. `encoding='latin-1'`.",
            parameters=("encoding",),
        ) from None
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
    return frame, notes


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


def _sample(path: Path, gzipped: bool, encoding: str) -> str:
    """The first complete lines of the file (up to about SNIFF_BYTES characters; at least the
    whole first line)."""
    with _open_text(path, gzipped, encoding) as handle:
        text = handle.read(SNIFF_BYTES)
        more = bool(handle.read(1))
        if more and "\n" not in text:
            # a header longer than the sample (a very wide table): read the whole first line,
            # since a cut name could look like a duplicate of a real one
            handle.seek(0)
            text = handle.readline()
            more = False
    if more and "\n" in text:
        text = text[: text.rindex("\n") + 1]  # a line cut in half would look ragged
    return text


def _has_nul(path: Path, gzipped: bool, encoding: str) -> bool:
    with _open_text(path, gzipped, encoding) as handle:
        while chunk := handle.read(1 << 20):
            if "\x00" in chunk:
                return True
    return False


def sniff_delimiter(sample: str) -> str:
    """The delimiter that splits the sample's lines into the same number (> 1) of fields.

    Candidates are :data:`DELIMITERS`; the comma wins ties, and a sample no candidate splits
    consistently is read with the comma (a one-column file, or one pandas reports on)."""
    best, best_score = ",", -1.0
    for delimiter in DELIMITERS:
        try:
            rows = [row for row in csv.reader(io.StringIO(sample), delimiter=delimiter) if row]
        except csv.Error:  # e.g. a whole wide line read as one field past csv's size limit
            continue
        if not rows or len(rows[0]) < 2:
            continue
        width = len(rows[0])
        score = sum(len(row) == width for row in rows) / len(rows)
        if score > best_score:
            best, best_score = delimiter, score
    return best


def _read_delimited(path: Path, gzipped: bool, encoding: str, fmt: str, sep: str | None,
                    notes: list[str]) -> pd.DataFrame:
    if sep is not None and len(sep) != 1:
        raise DataError(f"`sep` must be one character, not {sep!r}.", parameters=("sep",))
    sample = _sample(path, gzipped, encoding)
    sniffed = sep is None and fmt == "csv"
    if sep is None:
        sep = "\t" if fmt == "tsv" else sniff_delimiter(sample)
    rows = [row for row in csv.reader(io.StringIO(sample), delimiter=sep) if row]
    header = rows[0] if rows else None
    if not header or all(not h.strip() for h in header):
        raise DataError(f"{path.name} is empty.")
    duplicated = _duplicates(header)
    if duplicated:
        raise DataError(
            f"{path.name} has duplicate column names ({', '.join(map(repr, duplicated))}); "
            "rename them so each column has its own name."
        )
    decimal = "."
    if sep == ";":
        # Spreadsheets that write semicolons write decimal commas; a file with none keeps points.
        fields = [f.strip() for row in rows[1:] for f in row]
        if any(map(_DECIMAL_COMMA.match, fields)) and not any(map(_DECIMAL_POINT.match, fields)):
            decimal = ","
    if sniffed and sep != ",":
        notes.append(f"read with {sep!r} as the delimiter"
                     + (" and ',' as the decimal mark" if decimal == "," else "")
                     + " (sniffed from the first lines)")
    elif decimal == ",":
        notes.append("read with ',' as the decimal mark (the values have no decimal points)")
    source: Path | io.StringIO = path
    if not _PARSER_KEEPS_NUL and _has_nul(path, gzipped, encoding):
        with _open_text(path, gzipped, encoding) as handle:
            source = io.StringIO(handle.read().replace("\x00", NUL_STAND_IN))
    try:
        return pd.read_csv(
            source,
            sep=sep,
            decimal=decimal,
            compression="gzip" if gzipped and isinstance(source, Path) else None,
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
        others = " or ".join(repr(d) for d in DELIMITERS if d != sep)
        raise DataError(
            f"{path.name} is not a well-formed table with {sep!r} as the delimiter: "
            f"{str(exc).strip().rstrip('.')}; if it uses {others}, pass e.g. `sep=';'`.",
            parameters=("sep",),
        ) from None


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
        try:
            decoded = arff.loads(text, return_type=arff.DENSE)
            data = decoded["data"]
            frame = pd.DataFrame(data, columns=[name for name, _ in decoded["attributes"]])
        except arff.BadLayout:
            # A sparse file fails the dense layout; one that fails both is malformed (below).
            decoded = arff.loads(text, return_type=arff.COO)
            values, (rows, cols) = decoded["data"][0], decoded["data"][1:]
            dense = np.zeros((max(rows) + 1 if rows else 0, len(decoded["attributes"])),
                             dtype=object)
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


# -- typing and repairing columns ------------------------------------------------------------
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
    inferred = task is None
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
    else:
        check_regression_target(y, target)
        levels = y.value_counts()
        if inferred and len(levels) <= FEW_TARGET_VALUES and len(y) >= ROWS_PER_LEVEL * len(
                levels):
            shown = ", ".join(f"{v:g}" for v in sorted(levels.index))
            raise DataError(
                f"the target {target!r} takes only {len(levels)} distinct values ({shown}) over "
                f"{len(y)} rows, so it looks like classes rather than a quantity: recode them as "
                "labels or whole numbers to have them classified."
            )
    return Dataset(X=X, y=y, target=target, task=task, source=source, notes=notes)


def load_dataset(
    path: str | Path,
    target: str | None = None,
    *,
    strict: bool = False,
    lenient: bool = False,
    encoding: str = "utf-8",
    sep: str | None = None,
    task: TaskType | None = None,
) -> Dataset:
    """Read ``path``, type its columns and split off the target (the last column by default).

    By default what can be repaired without guessing is repaired and ``notes`` says what was done
    to which columns; ``strict=True`` refuses instead, ``lenient=True`` also repairs mixed and
    identifier-like columns (see the module's docstring). ``sep``: the delimiter of a CSV/TSV
    file (default: sniffed)."""
    path = Path(path)
    frame, read_notes = _read(path, encoding, sep)
    if target is not None and target not in frame.columns:
        split_target(frame, target, source=path.name)  # raises the friendly error
    target_name = target if target is not None else str(frame.columns[-1])
    if len(frame) < 2:  # before typing, which would call every column of one row constant
        raise DataError(f"{path.name} has {len(frame)} row; at least 2 are needed.")
    features, notes = type_columns(frame.drop(columns=[target_name]), lenient=lenient,
                                   strict=strict, source=path.name)
    if features.shape[1] == 0 and frame.shape[1] > 1:
        raise DataError(f"{path.name} has no usable feature columns: {notes[0]}.")
    found = Findings()
    typed_target = typed_column(target_name, frame[target_name], found)
    if found.nested or list(typed_target) != [target_name]:
        what = "nested values" if found.nested else "dates"
        raise DataError(f"the target column {target_name!r} holds {what}; metarec predicts "
                        "classes or numbers.")
    if (found.infinite or found.huge) and task != "classification":
        # Made missing as a feature's would be, these rows would silently leave the data.
        check_regression_target(pd.to_numeric(frame[target_name], errors="coerce"), target_name)
    if found.mixed and not lenient:
        raise DataError(
            f"the target column {target_name!r} mixes numbers and text (e.g. "
            f"{found.mixed[target_name]!r}): make every value a number to regress on it (empty "
            "cells drop their rows), or pass `lenient=True` to predict its values as classes.",
            parameters=("lenient",),
        )
    features[target_name] = typed_target[target_name]
    dataset = split_target(features, target, source=path.name, task=task)
    dataset.notes = read_notes + dataset.notes + notes
    return dataset
