"""Locally computed meta-features reproduce OpenML's stored qualities on real OpenML datasets."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.shared_data


@pytest.fixture(scope="module")
def parity(shared_data):  # skips every test here when ../shared/data is absent
    from bench.openml_parity import DETERMINISTIC_GROUPS, compare

    return compare(DETERMINISTIC_GROUPS)


def test_at_least_30_quality_names_match_openml(parity) -> None:
    from bench.openml_parity import summarize

    per_quality = summarize(parity)
    matched = per_quality.index[per_quality["share"] >= 0.95]
    assert parity["dataset"].nunique() >= 40
    assert len(matched) >= 30, per_quality


def test_95_percent_of_values_within_1_percent(parity) -> None:
    share = (parity["rel_diff"] <= 0.01).mean()
    assert share >= 0.95, parity.sort_values("rel_diff").tail(20)


def test_counts_match_exactly(parity) -> None:
    counts = parity[parity["quality"].str.startswith("NumberOf")]
    assert len(counts) > 200
    assert (counts["rel_diff"] == 0).all(), counts[counts["rel_diff"] > 0]
