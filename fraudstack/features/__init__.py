"""Shared transaction features: one definition, a batch form and an online form.

Training and the Glue inference job call :func:`compute_features` on a frame (with label
events for the delayed-label features); the streaming scorer holds an :class:`OnlineFeatures`
per partition (card features) and reads entity profiles that :class:`EntityProfiles` computes
in the profile aggregator. Both forms give the same values (see
:mod:`fraudstack.features.definitions` for the semantics and :mod:`fraudstack.features.online`
for the state it keeps).
"""

from fraudstack.features.batch import compute_features, label_events
from fraudstack.features.definitions import (
    CARD_FEATURE_NAMES,
    DESCRIPTIONS,
    ENTITY_FEATURES,
    FEATURE_INDEX,
    FEATURE_NAMES,
    FEATURE_VERSION,
    FEATURES,
    INPUT_COLUMNS,
    KEY,
    available_features,
)
from fraudstack.features.online import CardState, EntityProfiles, OnlineFeatures

__all__ = [
    "CARD_FEATURE_NAMES",
    "DESCRIPTIONS",
    "ENTITY_FEATURES",
    "FEATURES",
    "FEATURE_INDEX",
    "FEATURE_NAMES",
    "FEATURE_VERSION",
    "INPUT_COLUMNS",
    "KEY",
    "CardState",
    "EntityProfiles",
    "OnlineFeatures",
    "available_features",
    "compute_features",
    "label_events",
]
