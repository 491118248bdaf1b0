"""to_jsonable: whatever goes in, strict JSON comes out."""

from __future__ import annotations

import datetime as dt
import enum
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from metarec.jsonable import to_jsonable


class Colour(enum.Enum):
    RED = "red"


@dataclass
class Point:
    x: float
    label: str


def strict(value):
    return json.dumps(to_jsonable(value), allow_nan=False)


def test_numbers_and_missing_values():
    assert to_jsonable([np.float64(0.5), np.float32(0.25), np.int64(3), np.bool_(True)]) == [
        0.5, 0.25, 3, True]
    assert to_jsonable([float("nan"), float("inf"), -np.inf, np.nan, pd.NA, pd.NaT, None]) == [
        None] * 7
    assert type(to_jsonable(np.int64(3))) is int and type(to_jsonable(np.float64(1.0))) is float


def test_containers_and_pandas():
    assert to_jsonable({1: (1, 2), "s": {3, 1}}) == {"1": [1, 2], "s": [1, 3]}
    assert to_jsonable(np.array([[1.0, np.nan], [np.inf, 2.0]])) == [[1.0, None], [None, 2.0]]
    assert to_jsonable(np.array(2.5)) == 2.5
    assert to_jsonable(pd.Series({"a": 1.0, "b": np.nan})) == {"a": 1.0, "b": None}
    assert to_jsonable(pd.Index([1, 2])) == [1, 2]
    frame = pd.DataFrame({"a": [1, 2], "b": [0.5, np.nan]})
    assert to_jsonable(frame) == [{"a": 1, "b": 0.5}, {"a": 2, "b": None}]
    assert to_jsonable(pd.array([1, None], dtype="Int64")) == [1, None]


def test_dates_paths_enums_dataclasses_and_the_rest():
    assert to_jsonable(pd.Timestamp("2024-05-01 12:00")) == "2024-05-01T12:00:00"
    assert to_jsonable(np.datetime64("2024-05-01")) == "2024-05-01T00:00:00"
    assert to_jsonable(np.datetime64("NaT")) is None
    assert to_jsonable(dt.date(2024, 5, 1)) == "2024-05-01"
    assert to_jsonable(dt.timedelta(minutes=1)) == 60.0
    assert to_jsonable(pd.Timedelta(seconds=2)) == 2.0
    assert to_jsonable(Path("/tmp/x.csv")) == "/tmp/x.csv"
    assert to_jsonable(Colour.RED) == "red"
    assert to_jsonable(Point(np.float64(np.nan), "p")) == {"x": None, "label": "p"}
    assert to_jsonable(1 + 2j) == "(1+2j)"
    assert to_jsonable(object).startswith("<class")


def test_valid_json_is_unchanged():
    payload = {"a": [1, 2.5, "x", None, True, {"b": -0.0}], "c": 1e300}
    assert json.loads(strict(payload)) == payload
    assert strict(payload) == json.dumps(payload, allow_nan=False)


floats = st.floats(allow_nan=True, allow_infinity=True)
numpy_scalars = st.one_of(
    floats.map(np.float64), st.floats(width=32).map(np.float32),
    st.floats(width=16).map(np.float16),
    st.integers(-(2**63), 2**63 - 1).map(np.int64), st.integers(0, 255).map(np.uint8),
    st.booleans().map(np.bool_), st.text(max_size=5).map(np.str_),
    st.integers(-(10**9), 10**9).map(lambda d: np.datetime64(d, "s")),
    st.just(np.datetime64("NaT")), st.integers(-(10**6), 10**6).map(np.timedelta64),
    st.complex_numbers(allow_nan=True).map(np.complex128),
)
arrays = hnp.arrays(
    dtype=st.sampled_from([np.float64, np.float32, np.int32, np.bool_, np.complex64,
                           np.dtype("U3"), np.dtype("M8[D]"), np.dtype(object)]),
    shape=hnp.array_shapes(min_dims=0, max_dims=3, max_side=3),
)
pandas_values = st.one_of(
    st.lists(floats, max_size=4).map(pd.Series),
    st.lists(st.text(max_size=3), max_size=4).map(pd.Index),
    st.lists(floats, max_size=4).map(lambda v: pd.DataFrame({"v": v})),
    st.datetimes().map(pd.Timestamp),
    st.just(pd.NaT), st.just(pd.NA),
    # pandas' Timedelta holds about +-292 years (nanoseconds in 64 bits); Python's far more
    st.timedeltas(min_value=dt.timedelta(days=-100_000),
                  max_value=dt.timedelta(days=100_000)).map(pd.Timedelta),
    st.lists(st.one_of(st.none(), st.integers(-9, 9)), max_size=4).map(
        lambda v: pd.array(v, dtype="Int64")),
)
leaves = st.one_of(
    st.none(), st.booleans(), st.integers(), floats, st.text(max_size=5), numpy_scalars,
    arrays, pandas_values, st.text(max_size=5).map(Path), st.dates(), st.datetimes(),
    st.timedeltas(), st.just(Colour.RED), st.builds(Point, floats, st.text(max_size=3)),
    st.binary(max_size=3), st.complex_numbers(allow_nan=True),
)
keys = st.one_of(st.text(max_size=3), st.integers(), floats, st.booleans(), st.none())
values = st.recursive(
    leaves,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.lists(inner, max_size=4).map(tuple),
        st.dictionaries(keys, inner, max_size=4),
        st.frozensets(st.one_of(st.integers(), st.text(max_size=3)), max_size=4),
    ),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(values)
def test_the_output_is_always_strict_json(value):
    converted = to_jsonable(value)
    text = json.dumps(converted, allow_nan=False)
    assert json.loads(text) == converted  # nothing that JSON would change on the way back


def test_dates_beyond_pandas_range_become_numpys_text() -> None:
    far = np.array("292277026596-12-05", dtype="datetime64[D]")
    assert to_jsonable(far) == "292277026596-12-05"
    assert to_jsonable(np.datetime64("2026-11-30")) == "2026-11-30T00:00:00"
