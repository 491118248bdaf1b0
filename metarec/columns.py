"""Typing and repairing a table's columns: numeric (float64) or categorical, dates into parts,
and the repairs :mod:`metarec.io` applies by default, under ``strict`` or under ``lenient``.

Kept apart from reading (:mod:`metarec.io`): the rules for what a column is and what may be
repaired without guessing are one concern; file formats, delimiters and encodings another.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from metarec.errors import DataError

# A text column with more distinct values than this share of rows (and at least
# ID_LIKE_MIN_DISTINCT of them) is an identifier or free text, not a category.
ID_LIKE_DISTINCT_SHARE = 0.5
ID_LIKE_MIN_DISTINCT = 1000
# Beyond this magnitude a value's square overflows float64 once summed over many rows, so every
# statistic and every scaler turns it into inf/NaN: it is as unusable as an infinite value.
# (sqrt(float64 max) is about 1.3e154; the margin covers sums over up to ~1e8 rows.)
HUGE_VALUE = 1e150
# What a NUL byte is read as where the CSV parser would cut the field at it (metarec.io): a
# Unicode noncharacter, reserved for a program's internal use, so no real value holds one.
NUL_STAND_IN = "\ufffe"
# Columns named in one note or error before "and N more".
NAMES_SHOWN = 10

# Float columns checked per vectorised block: bounds the temporary copy (8 MB per 1,000 rows).
TYPE_BLOCK_COLUMNS = 1_000


@dataclass
class Findings:
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
    found = Findings()
    typed: dict[str, pd.Series] = {}
    # Float columns that need nothing done are found in one vectorised pass: a pandas loop over
    # every column takes tens of seconds at 100,000 columns. The rest are checked one by one.
    clean = _clean_float_columns(frame)
    for position, name in enumerate(frame.columns):
        if clean[position]:
            typed[str(name)] = frame.iloc[:, position]
            continue
        for part, col in typed_column(str(name), frame.iloc[:, position], found).items():
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


def check_regression_target(y: Any, name: str | None = None) -> None:
    """Raise :class:`DataError` unless ``y`` is a target a regressor can learn and be scored on:
    numbers, none infinite or beyond :data:`HUGE_VALUE`, not all one value.

    The one rule for a regression target wherever one enters: a table read by
    :func:`metarec.io.load_dataset` (recommend, tune, kb add, the run campaigns) and the arrays
    handed to tuning and the estimators (:func:`metarec.tuning.check_data`). Missing values are
    not its concern: the callers drop or refuse them before."""
    the = f"the target {name!r}" if name else "the target"
    series = y if isinstance(y, pd.Series) else pd.Series(np.asarray(y).ravel())
    if isinstance(series.dtype, pd.CategoricalDtype):
        series = series.astype(object)
    values = pd.to_numeric(series, errors="coerce").astype("float64")
    text = series.notna() & values.isna()
    if text.any():
        raise DataError(
            f"{the} holds text (e.g. {series[text].iloc[0]!r}), not numbers; a regressor "
            "predicts numbers: convert the values to numbers, or predict them as classes with "
            "a classifier."
        )
    present = values.dropna().to_numpy()
    infinite = int(np.isinf(present).sum())
    huge = int((np.abs(present[np.isfinite(present)]) > HUGE_VALUE).sum())
    if infinite or huge:
        what = " and ".join(part for part in (
            f"{infinite} infinite value{'s' if infinite > 1 else ''}" if infinite else "",
            f"{huge} value{'s' if huge > 1 else ''} beyond ±{HUGE_VALUE:.0e}" if huge else "",
        ) if part)
        raise DataError(
            f"{the} holds {what}, with which no regression score (R², RMSE) can be "
            "computed: drop those rows, or rescale the target (e.g. take its logarithm)."
        )
    if np.unique(present).size < 2:
        raise DataError(f"{the} is constant; there is nothing to predict.")


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


def _usable(name: str, col: pd.Series, found: Findings) -> bool:
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


def typed_column(name: str, col: pd.Series, found: Findings) -> dict[str, pd.Series]:
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


def _finite(name: str, col: pd.Series, found: Findings) -> pd.Series:
    """Infinite and overflowing values become missing (recorded in ``found``)."""
    values = col.to_numpy()
    infinite = np.isinf(values)
    huge = np.isfinite(values) & (np.abs(np.nan_to_num(values)) > HUGE_VALUE)
    if infinite.any():
        found.infinite[name] = int(infinite.sum())
    if huge.any():
        found.huge[name] = int(huge.sum())
    return col.mask(infinite | huge) if infinite.any() or huge.any() else col


def _type_text_column(name: str, col: pd.Series, found: Findings) -> dict[str, pd.Series]:
    text = col.astype("str").where(col.notna())
    nul = text.str.contains(f"[\x00{NUL_STAND_IN}]", regex=True, na=False).astype(bool)
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


def _date_parts(name: str, col: pd.Series, how: str, found: Findings) -> dict[str, pd.Series]:
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
