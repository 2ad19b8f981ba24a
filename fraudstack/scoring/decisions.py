"""From a score to a decision record: thresholds, reason codes, the wire format.

Why a module of its own: the decision contract (what downstream consumers, the alert
e-mail and the dashboard read) must not depend on how the scorer batches or where it runs.
A decision is JSON keyed by ``transaction_id`` so consumers can dedupe the replays that
at-least-once delivery allows.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import numpy as np

from fraudstack.errors import ConfigError
from fraudstack.features import FEATURE_NAMES
from fraudstack.model.scoring import Reason
from fraudstack.schema import TransactionEvent
from fraudstack.settings import Settings

DecisionType = Literal["approve", "review", "decline"]
DECISION_TYPES: tuple[DecisionType, ...] = ("approve", "review", "decline")
_CODES = np.array(DECISION_TYPES)


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


def _clean(value: float) -> float | None:
    """JSON has no NaN: a missing feature is ``null``."""
    return None if math.isnan(value) else value


def utc_text(value: datetime) -> str:
    """The schema's spelling of a time: ISO-8601 UTC with microseconds and ``Z``."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


_ENCODER = json.JSONEncoder(separators=(",", ":"), allow_nan=False)


def decision_record(
    event: TransactionEvent,
    decision: DecisionType,
    score: float,
    model_version: str,
    decided_at: str,
    reasons: Sequence[Reason] | None,
    features: Sequence[float] | None = None,
) -> dict[str, Any]:
    """The decision as a JSON-ready dict (the decisions topic value and the alert body)."""
    record: dict[str, Any] = {
        "transaction_id": event.transaction_id,
        "card_id": event.card_id,
        "event_time": utc_text(event.event_time),
        "amount": float(event.amount),
        "currency": event.currency,
        "decision": decision,
        "score": score,
        "model_version": model_version,
        "reasons": None if reasons is None else [r.as_dict() for r in reasons],
        "decided_at": decided_at,
    }
    if features is not None:
        record["features"] = dict(zip(FEATURE_NAMES, map(_clean, features), strict=True))
    return record


def encode(record: dict[str, Any]) -> bytes:
    """Compact UTF-8 JSON (NaN never reaches here: :func:`decision_record` cleans features)."""
    return _ENCODER.encode(record).encode()


def alert_message(record: dict[str, Any], reasons: Sequence[Reason]) -> tuple[str, str]:
    """(subject, body) of the SNS alert: a line an analyst reads plus the decision as JSON."""
    subject = f"fraudstack {record['decision']}: {record['transaction_id']} score {record['score']:.3f}"
    lines = [
        f"{record['decision'].upper()} {record['transaction_id']} (card {record['card_id']}, "
        f"{record['amount']:.2f} {record['currency']} at {record['event_time']})",
        f"score {record['score']:.4f} by model {record['model_version']}",
        *(f"- {reason.text()}" for reason in reasons),
        "",
        json.dumps(record, separators=(",", ":")),
    ]
    return subject[:100], "\n".join(lines)
