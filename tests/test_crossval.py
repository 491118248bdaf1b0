"""Row sampling shared by the imputation probes and successive halving."""

from __future__ import annotations

import numpy as np
import pytest

from metarec.crossval import sample_rows


@pytest.mark.parametrize("size", [1000, 1001, 1005])
def test_a_sample_a_few_rows_short_of_the_table_is_drawn_without_stratifying(size: int) -> None:
    y = np.arange(1006) % 6  # 1,006 rows of six classes: 1-6 rows left aside
    rows = sample_rows(y, size, seed=0, stratified=True)
    assert len(rows) == len(np.unique(rows)) == size and (np.diff(rows) > 0).all()


def test_a_sample_with_room_keeps_every_class_share() -> None:
    y = np.repeat([0, 1, 2], [600, 300, 100])
    rows = sample_rows(y, 100, seed=0, stratified=True)
    assert np.bincount(y[rows]).tolist() == [60, 30, 10]
    assert sample_rows(y, 1000, seed=0, stratified=True).tolist() == list(range(1000))
