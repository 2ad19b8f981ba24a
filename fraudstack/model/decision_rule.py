"""The decision rule shared by batch inference and the streaming scorer.

Why in ``fraudstack.model``: the Glue inference job and the scorer must decide identically
for the same score, and the inference job must not import the scorer (which pulls in Kafka).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from fraudstack.errors import ConfigError
from fraudstack.settings import Settings

DecisionType = Literal["approve", "review", "decline"]
DECISION_TYPES: tuple[DecisionType, ...] = ("approve", "review", "decline")
DECISION_NAMES = np.array(DECISION_TYPES)


@dataclass(frozen=True)
class Thresholds:
    """``score >= decline`` declines, ``score >= review`` reviews, else approve.

    ``alert``: reviews and declines scoring at least this are also published to SNS.
    """

    review: float
    decline: float
    alert: float

    @classmethod
    def from_settings(cls, settings: Settings, model_threshold: float) -> Thresholds:
        """The configured thresholds; an unset review threshold is the model's own (from training).

        A model whose own threshold lies above the decline threshold reviews nothing: its
        flagged range is all declines. That is a property of a promoted model, so it must not
        stop a hot reload; contradictory *settings* are an error.
        """
        decline = settings.scorer_decline_threshold
        review = settings.scorer_review_threshold
        if review is None:
            review = min(model_threshold, decline)
        elif review > decline:
            raise ConfigError(
                f"FRAUDSTACK_SCORER_REVIEW_THRESHOLD {review:g} is above "
                f"FRAUDSTACK_SCORER_DECLINE_THRESHOLD {decline:g}: lower it or raise the decline threshold"
            )
        return cls(review=review, decline=decline, alert=settings.scorer_alert_threshold)

    def decide(self, scores: np.ndarray) -> np.ndarray:
        """Index into :data:`DECISION_TYPES` per score (0 approve, 1 review, 2 decline)."""
        return (scores >= self.review).astype(np.int8) + (scores >= self.decline).astype(np.int8)

    def alerts(self, scores: np.ndarray, codes: np.ndarray) -> np.ndarray:
        """Which decisions also raise a real-time alert."""
        return (codes > 0) & (scores >= self.alert)

    def names(self, scores: np.ndarray) -> np.ndarray:
        """``approve`` / ``review`` / ``decline`` per score."""
        return DECISION_NAMES[self.decide(scores)]
