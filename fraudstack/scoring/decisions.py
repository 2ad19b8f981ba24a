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
from datetime import UTC, datetime
from typing import Any

from fraudstack.features import FEATURE_NAMES
from fraudstack.model.decisions import DecisionType
from fraudstack.model.scoring import Reason
from fraudstack.schema import TransactionEvent


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
