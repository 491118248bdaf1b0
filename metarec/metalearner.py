"""The meta-learner contract of DESIGN.md: ``from metarec.metalearner import MetaLearner``.

The implementation lives in :mod:`metarec.metalearning` (preprocessing, component models,
surrogate, evaluation); this module is the stable import path.
"""

from metarec.metalearning import evaluation
from metarec.metalearning.learner import COMPONENTS, MetaLearner

__all__ = ["COMPONENTS", "MetaLearner", "evaluation"]
