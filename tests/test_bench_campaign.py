"""The campaign benchmark's dataset families: variants of one source fall on one side of every
split over datasets, and the regression grouping (whose figures are published) is unchanged."""

from __future__ import annotations

import pytest

from bench.bench_campaign import family


@pytest.mark.parametrize("name, expected", [
    ("monk1", "monk"), ("monk3", "monk"), ("led7", "led"), ("led24", "led"),
    ("allhypo", "thyroid"), ("sick", "thyroid"), ("new_thyroid", "thyroid"),
    ("GAMETES_Epistasis_2_Way_20atts_0.1H_EDM_1_1", "gametes"), ("mfeat_zernike", "mfeat"),
    ("cleveland_nominal", "cleveland"), ("1000_BNG_breastTumor", "breasttumor"),
])
def test_classification_variants_share_a_family(name, expected):
    assert family(name, "classification") == expected


@pytest.mark.parametrize("name, expected", [
    ("fri_c1_500_5", "friedman"), ("auto93", "auto93"), ("1030_BNG_pbc", "pbc"),
    ("house_16H", "house16h"),
])
def test_regression_families_are_as_published(name, expected):
    assert family(name, "regression") == expected
