"""Shared transaction features: one definition, a batch form and an online form.

Training and the Glue inference job call :func:`compute_features` on a frame; the
streaming scorer holds an :class:`OnlineFeatures` per partition and calls ``update`` per
event. Both give the same values (see :mod:`fraudstack.features.definitions` for the
semantics and :mod:`fraudstack.features.online` for the state it keeps).
"""

from fraudstack.features.batch import compute_features
from fraudstack.features.definitions import (
    DESCRIPTIONS,
    FEATURE_INDEX,
    FEATURE_NAMES,
    FEATURE_VERSION,
    FEATURES,
    INPUT_COLUMNS,
    KEY,
    available_features,
)
from fraudstack.features.online import CardState, OnlineFeatures

__all__ = [
    "DESCRIPTIONS",
    "FEATURES",
    "FEATURE_INDEX",
    "FEATURE_NAMES",
    "FEATURE_VERSION",
    "INPUT_COLUMNS",
    "KEY",
    "CardState",
    "OnlineFeatures",
    "available_features",
    "compute_features",
]
