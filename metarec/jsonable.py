"""One conversion of numpy, pandas and other Python values into JSON-ready ones.

Everything metarec prints or stores as JSON goes through :func:`to_jsonable`, so that
``json.dumps(to_jsonable(value), allow_nan=False)`` never fails and never writes ``NaN``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import math
import os
import sys
from collections.abc import Mapping
from typing import Any

import numpy as np


def to_jsonable(value: Any) -> Any:
    """``value`` made of ``dict`` (string keys), ``list``, ``str``, ``int``, ``float``, ``bool``
    and ``None`` only.

    - NaN, infinities, ``pd.NA`` and ``NaT`` become ``None``; finite floats stay floats;
    - numpy scalars become Python numbers; arrays (and anything else with ``tolist``, e.g.
      tensors) nested lists;
    - mappings become dicts with ``str`` keys; lists, tuples and sets become lists (sets sorted
      where they can be);
    - a pandas ``Series`` becomes ``{str(index): value}``, a ``DataFrame`` a list of row records,
      an ``Index`` a list;
    - dates and times (``pd.Timestamp`` too) become ISO 8601 strings, durations seconds;
    - paths become strings, enums their value, dataclass instances dicts of their fields;
    - anything else becomes ``str(value)``.
    """
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, enum.Enum):
        return to_jsonable(value.value)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):  # np.float64 too
        return float(value) if math.isfinite(value) else None
    pd = sys.modules.get("pandas")  # a pandas value can only exist once pandas is imported
    if pd is not None and (value is pd.NA or value is pd.NaT):
        return None
    if isinstance(value, np.generic):
        if isinstance(value, (np.datetime64, np.timedelta64)):
            if np.isnat(value):
                return None
            import pandas

            try:
                return to_jsonable(pandas.Timestamp(value) if isinstance(value, np.datetime64)
                                   else pandas.Timedelta(value))
            except (OverflowError, ValueError):
                # Beyond what pandas can hold (about +-292 years at nanoseconds): numpy's text.
                return str(value)
        return to_jsonable(value.item())
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, (set, frozenset)):
        try:
            items = sorted(value)
        except TypeError:
            items = list(value)
        return [to_jsonable(v) for v in items]
    if isinstance(value, np.ndarray):
        if value.ndim == 0:
            return to_jsonable(value[()])
        if value.dtype.kind in "biuf":
            return to_jsonable(value.tolist())
        return [to_jsonable(v) for v in value]  # object, dates, strings: element by element
    if pd is not None:
        if isinstance(value, pd.Series):
            return {str(k): to_jsonable(v) for k, v in value.items()}
        if isinstance(value, pd.DataFrame):
            return [to_jsonable(row) for row in value.to_dict(orient="records")]
        if isinstance(value, pd.Index):
            return [to_jsonable(v) for v in value]
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return to_jsonable(value.total_seconds())
    if isinstance(value, os.PathLike):
        return os.fsdecode(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if callable(getattr(value, "tolist", None)):
        return to_jsonable(value.tolist())
    return str(value)
