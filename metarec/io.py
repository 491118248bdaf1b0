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
"""

from __future__ import annotations

import csv
import difflib
import gzip
import io
import re
import warnings
import zlib
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
# Beyond this magnitude a value's square overflows float64 once summed over many rows, so every
# statistic and every scaler turns it into inf/NaN: it is as unusable as an infinite value.
# (sqrt(float64 max) is about 1.3e154; the margin covers sums over up to ~1e8 rows.)
HUGE_VALUE = 1e150
# Delimiters the sniffer chooses from for a .csv file, the comma first.
DELIMITERS = (",", ";", "\t", "|")
SNIFF_BYTES = 64 * 1024
# Columns named in one note or error before "and N more".
NAMES_SHOWN = 10

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
    try:
        return pd.read_csv(
            path,
            sep=sep,
            decimal=decimal,
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
@dataclass
class _Findings:
    """What typing the columns found, by kind; each kind maps a column to its detail."""

    missing: list[str] = field(default_factory=list)
    constant: list[str] = field(default_factory=list)
    nested: list[str] = field(default_factory=list)
    infinite: dict[str, int] = field(default_factory=dict)
    huge: dict[str, int] = field(default_factory=dict)
    nul: dict[str, int] = field(default_factory=dict)
    mixed: dict[str, str] = field(default_factory=dict)  # column -> an example of its text
    id_like: dict[str, int] = field(default_factory=dict)  # column -> distinct values
    dates: dict[str, str] = field(default_factory=dict)  # column -> how it was expanded

    def left_out(self) -> list[str]:
        """Columns repaired by leaving them out, one phrase per kind."""
        return [phrase for phrase in (
            _listed("entirely missing column", "entirely missing columns", self.missing),
            _listed("constant column", "constant columns", self.constant),
            _listed("column of nested values (lists, dicts)",
                    "columns of nested values (lists, dicts)", self.nested),
        ) if phrase]

    def made_missing(self) -> list[str]:
        """Values repaired by treating them as missing, one phrase per kind."""
        return [phrase for phrase in (
            _counted("infinite value", "infinite values", self.infinite),
            _counted(f"value beyond ±{HUGE_VALUE:.0e}", f"values beyond ±{HUGE_VALUE:.0e}",
                     self.huge),
            _counted("cell with NUL bytes", "cells with NUL bytes", self.nul),
        ) if phrase]

    def guesses(self) -> list[str]:
        """Problems repaired only under ``lenient`` (a repair there is a judgement)."""
        mixed = [f"column {name!r} mixes numbers and text (e.g. {example!r})"
                 for name, example in self.mixed.items()]
        ids = [f"column {name!r} has {n} distinct values, so it looks like an identifier or "
               "free text" for name, n in self.id_like.items()]
        return _shorten(mixed + ids)


def _shorten(items: list[str]) -> list[str]:
    if len(items) <= NAMES_SHOWN:
        return items
    return items[:NAMES_SHOWN] + [f"and {len(items) - NAMES_SHOWN} more"]


def _listed(one: str, many: str, names: list[str]) -> str:
    if not names:
        return ""
    shown = ", ".join(_shorten([repr(n) for n in names]))
    return f"{len(names)} {one if len(names) == 1 else many} ({shown})"


def _counted(one: str, many: str, counts: dict[str, int]) -> str:
    if not counts:
        return ""
    total = sum(counts.values())
    where = ", ".join(_shorten([f"{name!r}: {n}" for name, n in counts.items()]))
    return f"{total} {one if total == 1 else many} ({where})"


def type_columns(
    frame: pd.DataFrame, lenient: bool = False, *, strict: bool = False, source: str = "the data"
) -> tuple[pd.DataFrame, list[str]]:
    """Give every column a numeric (float64) or categorical dtype, repairing as the module says.

    Returns the typed frame and the notes: at most one, saying what was done to which columns.
    Raises one :class:`DataError` naming every offending column at once."""
    if strict and lenient:
        raise DataError("`strict=True` refuses what `lenient=True` repairs; pass one of them.",
                        parameters=("strict", "lenient"))
    found = _Findings()
    typed: dict[str, pd.Series] = {}
    # Float columns that need nothing done are found in one vectorised pass: a pandas loop over
    # every column takes tens of seconds at 100,000 columns. The rest are checked one by one.
    clean = _clean_float_columns(frame)
    for position, name in enumerate(frame.columns):
        if clean[position]:
            typed[str(name)] = frame.iloc[:, position]
            continue
        for part, col in _typed(str(name), frame.iloc[:, position], found).items():
            if _usable(part, col, found):
                typed[part] = col
    left_out, made_missing, guesses = found.left_out(), found.made_missing(), found.guesses()
    if strict and (left_out or made_missing or guesses):
        raise DataError(
            f"{source} needs repairs that `strict=True` refuses: "
            + "; ".join(left_out + made_missing + guesses)
            + "; fix these, or read it without `strict=True` to have metarec repair what it can.",
            parameters=("strict",),
        )
    if guesses and not lenient:
        raise DataError(
            "; ".join(guesses) + "; clean or drop "
            + ("it" if len(found.mixed) + len(found.id_like) == 1 else "them")
            + ", or pass `lenient=True` to treat mixed columns as categorical and leave "
            "identifier-like ones out.",
            parameters=("lenient",),
        )
    if found.id_like:
        left_out.append(_listed("identifier-like text column", "identifier-like text columns",
                                list(found.id_like)))
    done: list[str] = []
    if left_out:
        done.append("left out " + ", ".join(left_out))
    if made_missing:
        done.append("treated as missing " + ", ".join(made_missing))
    if found.mixed:
        done.append("read as categorical "
                    + _listed("column mixing numbers and text", "columns mixing numbers and text",
                              list(found.mixed)))
    done += [f"{name!r}: {what}" for name, what in found.dates.items()]
    kept = {k: v for k, v in typed.items() if k not in found.id_like}
    return pd.DataFrame(kept, index=frame.index), (["; ".join(done)] if done else [])


def _clean_float_columns(frame: pd.DataFrame) -> np.ndarray:
    """Per column: float64 that needs no repair (no infinite or huge value, not entirely missing,
    not constant without a missing value), so typing can keep it as it is."""
    clean = np.array(frame.dtypes == np.dtype("float64"), dtype=bool)
    positions = np.flatnonzero(clean)
    for start in range(0, positions.size, TYPE_BLOCK_COLUMNS):
        block = positions[start : start + TYPE_BLOCK_COLUMNS]
        values = frame.iloc[:, block].to_numpy(dtype=np.float64)
        missing = np.isnan(values)
        some = ~missing.all(axis=0)
        with np.errstate(invalid="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # an all-missing column's max
            high, low = np.nanmax(values, axis=0), np.nanmin(values, axis=0)
        large = np.maximum(np.abs(high), np.abs(low))  # NaN for an all-missing column
        varies = (high != low) | missing.any(axis=0)
        clean[block] = some & varies & np.isfinite(large) & (large <= HUGE_VALUE)
    return clean


def _usable(name: str, col: pd.Series, found: _Findings) -> bool:
    """False for a column that is left out; records why in ``found``."""
    if name in found.nested:
        return False
    if col.isna().all():
        found.missing.append(name)
        return False
    if not col.hasnans and (len(col.cat.categories) == 1
                            if isinstance(col.dtype, pd.CategoricalDtype)
                            else col.min() == col.max()):
        # One value and no missing one: it tells the rows nothing apart. (One value with some
        # missing is kept: whether a value is missing can carry information.)
        found.constant.append(name)
        return False
    if isinstance(col.dtype, pd.CategoricalDtype):
        n_distinct = len(col.cat.categories)
        if n_distinct >= ID_LIKE_MIN_DISTINCT and n_distinct > ID_LIKE_DISTINCT_SHARE * len(col):
            found.id_like[name] = n_distinct
    return True


def _typed(name: str, col: pd.Series, found: _Findings) -> dict[str, pd.Series]:
    """``col`` as float64 or categorical columns (a date column becomes several)."""
    if isinstance(col.dtype, pd.CategoricalDtype):
        return {name: col.cat.remove_unused_categories()}
    if pd.api.types.is_bool_dtype(col):
        return {name: col.astype("category")}
    if pd.api.types.is_datetime64_any_dtype(col):
        return _date_parts(name, col, "dates", found)
    if pd.api.types.is_timedelta64_dtype(col):
        found.dates[name] = "durations read as seconds"
        return {name: _finite(name, col.dt.total_seconds().astype("float64"), found)}
    if pd.api.types.is_numeric_dtype(col):
        return {name: _finite(name, col.astype("float64"), found)}
    kind = pd.api.types.infer_dtype(col, skipna=True)
    if kind not in ("string", "empty", "bytes") and col.dropna().map(
        lambda v: isinstance(v, (list, tuple, dict, set, np.ndarray))
    ).any():
        found.nested.append(name)  # e.g. a Parquet list column: no single value per cell
        return {name: col}
    return _type_text_column(name, col, found)


def _finite(name: str, col: pd.Series, found: _Findings) -> pd.Series:
    """Infinite and overflowing values become missing (recorded in ``found``)."""
    values = col.to_numpy()
    infinite = np.isinf(values)
    huge = np.isfinite(values) & (np.abs(np.nan_to_num(values)) > HUGE_VALUE)
    if infinite.any():
        found.infinite[name] = int(infinite.sum())
    if huge.any():
        found.huge[name] = int(huge.sum())
    return col.mask(infinite | huge) if infinite.any() or huge.any() else col


def _type_text_column(name: str, col: pd.Series, found: _Findings) -> dict[str, pd.Series]:
    text = col.astype("str").where(col.notna())
    nul = text.str.contains("\x00", regex=False).fillna(False).astype(bool)
    if nul.any():
        # A NUL byte is no part of any value: the cell is corrupt (a file padded after a crash,
        # a binary field), so its value is unknown rather than a new category.
        found.nul[name] = int(nul.sum())
        text = text.mask(nul)
    text = text.str.strip()
    present = text.notna()
    n_present = int(present.sum())
    as_number = pd.to_numeric(text, errors="coerce")
    n_numeric = int(as_number.notna().sum())
    if n_present and n_numeric == n_present:
        return {name: _finite(name, as_number.astype("float64"), found)}
    if n_numeric and n_numeric >= 0.5 * n_present:
        found.mixed[name] = text[present & as_number.isna()].iloc[0]
    elif n_present:
        dates = _parse_dates(text, present)
        if dates is not None:
            return _date_parts(name, *dates, found)
    return {name: text.astype("category")}


def _parse_dates(text: pd.Series, present: pd.Series) -> tuple[pd.Series, str] | None:
    """``text`` as datetimes when every value is a date in one format, and that format's name.

    ISO 8601 first; otherwise the format pandas guesses from the first value, month-first and
    day-first, kept only when it has a year, a month and a day and parses every value (a
    day/month order that both readings accept is read month-first, and the note names the
    format)."""
    from pandas.tseries.api import guess_datetime_format

    parsed = pd.to_datetime(text, format="ISO8601", errors="coerce")
    if parsed[present].notna().all():
        return parsed, "ISO 8601 dates"
    first = str(text[present].iloc[0])
    for dayfirst in (False, True):
        with warnings.catch_warnings():  # pandas warns when the guess contradicts ``dayfirst``
            warnings.simplefilter("ignore")
            fmt = guess_datetime_format(first, dayfirst=dayfirst)
        if not fmt or not re.search("%[Yy]", fmt) or not re.search("%[mbB]", fmt) \
                or "%d" not in fmt:
            continue
        parsed = pd.to_datetime(text, format=fmt, errors="coerce")
        if parsed[present].notna().all():
            return parsed, f"dates in the format {fmt}"
    return None


def _date_parts(name: str, col: pd.Series, how: str, found: _Findings) -> dict[str, pd.Series]:
    """Year, month, day, day of week (and hour where any time of day is set) as float64."""
    when = col.dt
    parts = {"year": when.year, "month": when.month, "day": when.day,
             "day_of_week": when.day_of_week}
    if ((when.hour.fillna(0) != 0) | (when.minute.fillna(0) != 0)).any():
        parts["hour"] = when.hour
    # A part that never changes (every date in one year) says nothing: it is not made.
    out = {f"{name}_{part}": values.astype("float64") for part, values in parts.items()
           if values.nunique(dropna=False) > 1}
    found.dates[name] = f"{how} expanded into {', '.join(out) or 'nothing (all the same date)'}"
    return out


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
    found = _Findings()
    typed_target = _typed(target_name, frame[target_name], found)
    if found.nested or list(typed_target) != [target_name]:
        what = "nested values" if found.nested else "dates"
        raise DataError(f"the target column {target_name!r} holds {what}; metarec predicts "
                        "classes or numbers.")
    features[target_name] = typed_target[target_name]
    dataset = split_target(features, target, source=path.name, task=task)
    dataset.notes = read_notes + dataset.notes + notes
    return dataset
