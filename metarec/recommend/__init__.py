"""From a dataset to ranked pipeline recommendations, with the evidence behind them.

``recommender`` (profile -> meta-learner ranking -> imputers, neighbours, out-of-distribution
check), ``learner_cache`` (fitted meta-learners, stored once per knowledge base), ``fallbacks``
(single best configurations, then a default portfolio, when the meta-learner cannot answer),
``record`` (the one shape of a recommendation), ``plotting``.
"""

from metarec.recommend.fallbacks import (
    Recommended,
    default_portfolio,
    load_kb,
    recommendations_for,
    single_best_recommendations,
)
from metarec.recommend.recommender import (
    PROFILE_GROUPS,
    ImputerProbes,
    RecommendationReport,
    choose_imputer,
    profile,
    recommend,
)

__all__ = [
    "PROFILE_GROUPS", "ImputerProbes", "RecommendationReport", "Recommended", "choose_imputer",
    "default_portfolio", "load_kb", "profile", "recommend", "recommendations_for",
    "single_best_recommendations",
]
