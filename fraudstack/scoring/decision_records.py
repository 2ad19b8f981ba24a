"""From a score to a decision record: thresholds, reason codes, the wire format.

Why a module of its own: the decision contract (what downstream consumers, the alert
e-mail and the dashboard read) must not depend on how the scorer batches or where it runs.
A decision is JSON keyed by ``transaction_id`` so consumers can dedupe the replays that
at-least-once delivery allows.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

from fraudstack.features import FEATURE_NAMES
from fraudstack.model.decision_rule import DecisionType
from fraudstack.model.fraud_model import Reason


def _clean(value: float) -> float | None:
    """JSON has no NaN: a missing feature is ``null``."""
    return None if math.isnan(value) else value


_ENCODER = json.JSONEncoder(separators=(",", ":"), allow_nan=False)


def decision_record(
    event: Mapping[str, Any],
    decision: DecisionType,
    score: float,
    model_version: str,
    decided_at: str,
    reasons: Sequence[Reason] | None,
    features: Sequence[float] | None = None,
) -> dict[str, Any]:
    """The decision as a JSON-ready dict (the decisions topic value and the alert body).

    ``event`` is in wire form (:mod:`fraudstack.wire`): its time is already the
    schema's text and its amount a float.
    """
    record: dict[str, Any] = {
        "transaction_id": event["transaction_id"],
        "card_id": event["card_id"],
        "event_time": event["event_time"],
        "amount": event["amount"],
        "currency": event["currency"],
        "decision": decision,
        "score": score,
        "model_version": model_version,
        "reasons": None if reasons is None else [r.as_dict() for r in reasons],
        "decided_at": decided_at,
    }
    if features is not None:
        record["features"] = dict(zip(FEATURE_NAMES, map(_clean, features), strict=True))
    return record


def encode_decision(
    event: Mapping[str, Any],
    decision: DecisionType,
    score: float,
    model_version: str,
    decided_at: str,
    reasons: Sequence[Reason] | None,
    features: Sequence[float] | None = None,
) -> bytes:
    """``encode(decision_record(...))`` without the dict: what the scorer writes per transaction.

    Why: building the dict and walking it with the JSON encoder costs a tenth of the scorer's
    budget, several times this template (BENCHMARKS.md, "Streaming scorer"). It writes the
    event's text fields unescaped because the schema makes them safe (ids match
    ``[A-Za-z0-9_-]``, the currency ``[A-Z]{3}``, the time is the canonical text); floats are
    spelled as the encoder spells them (``repr``). A test holds the two spellings together byte for byte.
    """
    if not math.isfinite(score):
        raise ValueError(f"score {score!r} is not JSON compliant")
    text = (
        f'{{"transaction_id":"{event["transaction_id"]}","card_id":"{event["card_id"]}",'
        f'"event_time":"{event["event_time"]}","amount":{event["amount"]!r},'
        f'"currency":"{event["currency"]}","decision":"{decision}","score":{score!r},'
        f'"model_version":{_json_text(model_version)},'
        f'"reasons":{"null" if reasons is None else _ENCODER.encode([r.as_dict() for r in reasons])},'
        f'"decided_at":"{decided_at}"'
    )
    if features is not None:
        text += f',"features":{_ENCODER.encode(dict(zip(FEATURE_NAMES, map(_clean, features), strict=True)))}'
    return f"{text}}}".encode()


@lru_cache(maxsize=8)
def _json_text(value: str) -> str:
    """A string as JSON (model versions repeat: encoded once each)."""
    return _ENCODER.encode(value)


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
