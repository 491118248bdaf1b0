"""Meta-learning internals behind :class:`metarec.metalearner.MetaLearner`."""

from metarec.metalearning.learner import MetaLearner

__all__ = ["MetaLearner"]
