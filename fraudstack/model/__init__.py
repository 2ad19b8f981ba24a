"""The fraud model: training, evaluation report, S3 registry, scoring with reason codes.

Inference paths (the Glue job, the streaming scorer) need only the light modules:
:mod:`fraudstack.model.fraud_model` (:class:`FraudModel`, :class:`Reason`) and
:mod:`fraudstack.model.registry` (``load_current_model``, ``current_version``, ...).
Training (:mod:`~fraudstack.model.training`, :mod:`~fraudstack.model.release`) also pulls in
scikit-learn and matplotlib, so it is imported explicitly, not from here.
"""

from fraudstack.model.fraud_model import FraudModel, Reason
from fraudstack.model.registry import current_version, load_current_model, load_model, publish, set_current

__all__ = [
    "FraudModel",
    "Reason",
    "current_version",
    "load_current_model",
    "load_model",
    "publish",
    "set_current",
]
