"""The meta-learner of DESIGN.md: ``from metarec.metalearner import MetaLearner``.

Generic over any run history: ``learner`` (fit / predict / rank / neighbours / out-of-distribution),
``selection`` (``model="auto"``: candidates, inner validation, one-standard-error rule),
``diversity`` (configuration similarity and the diverse top-k), ``portfolio``, the component
models, ``codec`` (storing a fitted learner without pickle), and ``cost`` (``FitCostModel``: fit
seconds per configuration from dataset sizes).
"""

from metarec.metalearner import evaluation
from metarec.metalearner.cost import FitCostModel
from metarec.metalearner.learner import COMPONENTS, MetaLearner

__all__ = ["COMPONENTS", "FitCostModel", "MetaLearner", "evaluation"]
