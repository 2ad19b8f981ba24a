"""Thresholds and the decision format, without a broker."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from fraudstack.errors import ConfigError
from fraudstack.features import FEATURE_NAMES
from fraudstack.model.fraud_model import Reason
from fraudstack.schema import event_to_json_bytes, validate_event
from fraudstack.scoring import DECISION_TYPES, Thresholds
from fraudstack.scoring.decision_records import alert_message, decision_record, encode_decision
from fraudstack.settings import load_settings
from fraudstack.wire import parse_event, wire_form
from tests.support.simulated import stream_events


def encode(record: dict[str, object]) -> bytes:
    """The reference spelling: the record through the standard JSON encoder, compact."""
    return json.dumps(record, separators=(",", ":"), allow_nan=False).encode()


def test_thresholds_split_scores_into_three_decisions() -> None:
    thresholds = Thresholds(review=0.5, decline=0.9, alert=0.8)
    scores = np.array([0.0, 0.49, 0.5, 0.79, 0.8, 0.9, 1.0])
    codes = thresholds.decide(scores)
    assert [DECISION_TYPES[c] for c in codes] == [
        "approve",
        "approve",
        "review",
        "review",
        "review",
        "decline",
        "decline",
    ]
    assert thresholds.alerts(scores, codes).tolist() == [False, False, False, False, True, True, True]


def test_review_threshold_defaults_to_the_models_own() -> None:
    settings = load_settings(scorer_decline_threshold=0.95)
    assert Thresholds.from_settings(settings, model_threshold=0.42).review == 0.42
    assert Thresholds.from_settings(load_settings(scorer_review_threshold=0.3), 0.42).review == 0.3
    assert Thresholds.from_settings(load_settings(scorer_decline_threshold=0.4), 0.42).review == 0.4
    with pytest.raises(ConfigError, match=r"REVIEW_THRESHOLD 0\.5 is above"):
        Thresholds.from_settings(
            load_settings(scorer_review_threshold=0.5, scorer_decline_threshold=0.4), 0.42
        )


def test_decision_record_is_strict_json_with_reasons_and_features() -> None:
    event = parse_event(event_to_json_bytes(stream_events(customers=10, days=1, seed=1)[0]))
    assert event is not None
    features = [math.nan] * len(FEATURE_NAMES)
    reasons = [Reason("new_device", 1.0, 2.5)]
    record = decision_record(event, "decline", 0.97, "v1", "2026-01-01T00:00:00.000000Z", reasons, features)
    parsed = json.loads(encode(record))
    assert parsed["transaction_id"] == event["transaction_id"] and parsed["decision"] == "decline"
    assert parsed["reasons"] == [{"feature": "new_device", "value": 1.0, "contribution": 2.5}]
    assert set(parsed["features"]) == set(FEATURE_NAMES) and parsed["features"]["amount"] is None
    subject, body = alert_message(record, reasons)
    assert event["transaction_id"] in subject and "new_device = 1" in body
    assert json.loads(body.splitlines()[-1])["score"] == 0.97


def test_the_scorers_template_spells_decisions_as_the_encoder_does() -> None:
    events = stream_events(customers=30, days=1, seed=2)[:40]
    forms = [parse_event(event_to_json_bytes(e)) for e in events]
    forms += [wire_form(validate_event(e).event) for e in events[:5]]  # type: ignore[arg-type]
    reasons = [Reason("new_device", 1.0, 2.5), Reason("amount", math.nan, 0.123456789)]
    features = [math.nan, *(i / 3 for i in range(1, len(FEATURE_NAMES)))]
    for i, event in enumerate(forms):
        assert event is not None
        args = (event, DECISION_TYPES[i % 3], i / 7, 'v1 "quoted" é', "2026-01-01T00:00:00.000000Z")
        for extra in ((None,), (reasons,), (reasons, features)):
            assert encode_decision(*args, *extra) == encode(decision_record(*args, *extra))
