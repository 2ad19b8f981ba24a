"""The label event contract: validation reasons, the canonical wire form, the never-raise promise."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from fraudstack.labels import (
    DEFAULT_LABEL_DELAY,
    LABEL_EVENT_FIELDS,
    LabelEvent,
    arrow_schema,
    label_to_json_bytes,
    validate_label,
)


def _label(**overrides: Any) -> dict[str, Any]:
    label: dict[str, Any] = {
        "transaction_id": "tx_0001",
        "is_fraud": True,
        "source": "chargeback",
        "known_at": "2025-03-09T08:00:00.000000Z",
    }
    label.update(overrides)
    return label


def test_round_trip_is_canonical() -> None:
    parsed = validate_label(json.dumps(_label(known_at="2025-03-09T08:00:00+00:00")))
    assert parsed.ok and parsed.label is not None
    wire = label_to_json_bytes(parsed.label)
    assert wire == (
        b'{"transaction_id":"tx_0001","is_fraud":true,"source":"chargeback",'
        b'"known_at":"2025-03-09T08:00:00.000000Z"}'
    )
    assert tuple(json.loads(wire)) == LABEL_EVENT_FIELDS == tuple(arrow_schema().names)
    again = validate_label(wire)
    assert again.label == parsed.label
    assert again.label is not None and again.label.known_at == datetime(2025, 3, 9, 8, tzinfo=UTC)


def test_dict_input_with_datetime() -> None:
    parsed = validate_label(_label(known_at=datetime(2025, 3, 9, tzinfo=UTC), source="analyst"))
    assert parsed.ok and parsed.label is not None and parsed.label.source == "analyst"


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"\xff\xfe", "not valid UTF-8 text"),
        ("{nope", "not valid JSON"),
        ("[1, 2]", "not a JSON object (got list)"),
        (json.dumps(_label(source="bank")), "source: Input should be 'chargeback', 'analyst' or 'rule'"),
        (json.dumps(_label(known_at="2025-03-09T08:00:00")), "known_at must be a UTC timestamp"),
        (json.dumps(_label(known_at="2025-03-09T08:00:00+02:00")), "known_at must be a UTC timestamp"),
        (json.dumps(_label(transaction_id="")), "transaction_id:"),
        (json.dumps({k: v for k, v in _label().items() if k != "is_fraud"}), "is_fraud: Field required"),
        (json.dumps(_label(extra=1)), "extra: Extra inputs are not permitted"),
        (
            '{"transaction_id":"a","transaction_id":"b","is_fraud":true,"source":"rule",'
            '"known_at":"2025-03-09T08:00:00Z"}',
            "duplicate key 'transaction_id'",
        ),
        ("[" * 100_000, "not valid JSON"),
        ('"\\ud800"', "not a JSON object"),
    ],
)
def test_rejections_say_why_in_one_line(raw: Any, reason: str) -> None:
    result = validate_label(raw)
    assert not result.ok
    assert result.reason is not None and reason in result.reason
    assert "\n" not in result.reason


def test_model_rejects_offset_datetime() -> None:
    with pytest.raises(ValueError, match="UTC"):
        LabelEvent(
            transaction_id="tx_1",
            is_fraud=True,
            source="rule",
            known_at=datetime(2025, 1, 1, tzinfo=timezone(timedelta(hours=1))),
        )


def test_default_delay_is_a_week() -> None:
    assert timedelta(days=7) == DEFAULT_LABEL_DELAY
