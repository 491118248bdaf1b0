"""Greedy portfolio construction and the portfolio-first order, on matrices worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from metarec.metalearner.portfolio import (
    greedy_cover,
    greedy_portfolio,
    normalised_regret,
    portfolio_first,
    portfolio_key,
)

# Higher is better. Datasets 0-1 are won by configuration 0, datasets 2-3 by configuration 1;
# configuration 2 is second everywhere (the best on average); configuration 3 is always worst.
SCORES = np.array([
    [0.90, 0.50, 0.80, 0.40],
    [0.90, 0.50, 0.80, 0.40],
    [0.50, 0.90, 0.80, 0.40],
    [0.50, 0.90, 0.80, 0.40],
])


def test_normalised_regret_counts_a_missing_run_as_the_worst():
    scores = np.array([[0.9, 0.5, np.nan], [0.3, 0.3, 0.3]])
    assert normalised_regret(scores).tolist() == [[0.0, 1.0, 1.0], [0.0, 0.0, 0.0]]


def test_first_member_is_the_best_on_average_then_the_complements():
    # alone, configuration 2 has the lowest mean regret (0.25 vs 0.5 for 0 and 1)
    assert greedy_portfolio(SCORES, 1).tolist() == [2]
    # then 0 (covers datasets 0-1 perfectly), then 1 (datasets 2-3): the oracle within {2, 0, 1}
    # has no regret left, so the portfolio stops before the useless configuration 3
    assert greedy_portfolio(SCORES, 3).tolist() == [2, 0, 1]
    assert greedy_portfolio(SCORES, 10).tolist() == [2, 0, 1]


def test_filling_goes_on_to_the_size_asked_for():
    regret = normalised_regret(SCORES)
    assert greedy_cover(regret, 10).tolist() == [2, 0, 1]
    assert greedy_cover(regret, 10, fill=True).tolist() == [2, 0, 1, 3]
    assert greedy_cover(regret, 2, fill=True).tolist() == [2, 0]


def test_one_dominant_configuration_is_a_portfolio_of_one():
    scores = np.array([[0.9, 0.5, 0.7], [0.8, 0.2, 0.6], [0.7, 0.1, 0.3]])
    assert greedy_portfolio(scores, 3).tolist() == [0]


def test_empty_requests_give_an_empty_portfolio():
    assert greedy_portfolio(SCORES, 0).size == 0
    assert greedy_portfolio(np.empty((0, 3)), 2).size == 0


def test_portfolio_first_ranks_members_first_each_part_by_key():
    key = np.array([0.1, 0.9, 0.5, 0.7, 0.3])
    assert portfolio_first(key, None).tolist() == [1, 3, 2, 4, 0]
    assert portfolio_first(key, np.array([0, 2])).tolist() == [2, 0, 1, 3, 4]


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), n_members=st.integers(0, 6))
def test_portfolio_key_orders_as_portfolio_first(seed, n_members):
    rng = np.random.RandomState(seed)
    key = rng.randn(3, 6) * 10 ** rng.uniform(-3, 3)
    members = rng.choice(6, n_members, replace=False)
    shifted = portfolio_key(key, members)
    for row, original in zip(shifted, key, strict=True):
        assert np.argsort(-row, kind="stable").tolist() == portfolio_first(original,
                                                                            members).tolist()


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), size=st.integers(1, 8))
def test_each_member_lowers_the_oracle_regret(seed, size):
    rng = np.random.RandomState(seed)
    scores = rng.rand(7, 6)
    scores[rng.rand(7, 6) < 0.2] = np.nan
    members = greedy_portfolio(scores, size)
    assert 1 <= len(members) <= min(size, 6) and len(set(members.tolist())) == len(members)
    regret = normalised_regret(scores)
    covered = [regret[:, members[: i + 1]].min(axis=1).mean() for i in range(len(members))]
    assert all(b < a for a, b in zip(covered, covered[1:], strict=False))
    # the first member is the configuration with the lowest mean regret
    assert regret[:, members[0]].mean() == pytest.approx(regret.mean(axis=0).min())
