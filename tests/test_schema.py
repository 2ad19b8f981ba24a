"""The event schema contract: validation reasons, wire format, and the JSON Schema file."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from fraudstack.schema import (
    FIELDS,
    JSON_SCHEMA_PATH,
    LABEL_FIELDS,
    SCHEMA_VERSION,
    TransactionEvent,
    arrow_schema,
    event_to_json_bytes,
    render_json_schema,
    validate_event,
)


def _event(**overrides: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "schema_version": 1,
        "transaction_id": "tx_0001",
        "event_time": datetime(2025, 3, 1, 12, 30, 5, 250000, tzinfo=UTC),
        "customer_id": "cus_000001",
        "customer_account_created": date(2021, 6, 1),
        "card_id": "card_000001",
        "card_token": "tok_" + "0123456789abcdef01234567",
        "card_type": "debit",
        "issuing_bank": "Northwind Bank",
        "merchant_id": "mer_000042",
        "merchant_name": "Corner Grocery",
        "merchant_category_code": "5411",
        "merchant_category": "grocery",
        "merchant_lat": 40.71,
        "merchant_lon": -74.0,
        "amount": 0.07,
        "currency": "USD",
        "channel": "ecom",
        "entry_mode": "card_not_present",
        "device_id": "dev_000001",
        "device_os": "android",
        "ip_address": "203.0.113.9",
        "ip_is_vpn": False,
        "lat": 40.7,
        "lon": -74.01,
        "city": "New York",
        "country": "US",
        "is_fraud": False,
        "fraud_type": None,
    }
    event.update(overrides)
    return event


def test_json_schema_file_matches_model() -> None:
    """The data/ rendering is regenerated with `python -m fraudstack.schema`; never edited by hand."""
    assert JSON_SCHEMA_PATH.read_text() == render_json_schema()
    rendered = json.loads(JSON_SCHEMA_PATH.read_text())
    assert list(rendered["properties"]) == sorted(FIELDS)
    assert rendered["properties"]["amount"]["type"] == "number"


def test_arrow_schema_has_the_same_fields_in_wire_order() -> None:
    schema = arrow_schema()
    assert tuple(schema.names) == FIELDS
    assert str(schema.field("event_time").type) == "timestamp[us, tz=UTC]"


def test_labels_are_declared() -> None:
    assert set(LABEL_FIELDS) == {"is_fraud", "fraud_type"}
    assert set(LABEL_FIELDS) <= set(FIELDS)


def test_round_trip_through_wire_format_is_exact() -> None:
    wire = event_to_json_bytes(_event())
    result = validate_event(wire)
    assert result.ok and result.reason is None
    assert result.event is not None
    assert result.event.amount == Decimal("0.07")
    assert result.event.schema_version == SCHEMA_VERSION
    assert event_to_json_bytes(result.event) == wire
    assert b", " not in wire and b": " not in wire  # compact separators
    assert json.loads(wire)["event_time"] == "2025-03-01T12:30:05.250000Z"


def test_dicts_validate_too() -> None:
    assert validate_event(_event()).ok
    card_present = _event(
        channel="pos", entry_mode="chip", device_id=None, device_os=None, ip_address=None, ip_is_vpn=None
    )
    assert validate_event(card_present).ok


def _reason(raw: Any) -> str:
    result = validate_event(raw)
    assert not result.ok and result.event is None and result.reason is not None
    assert "\n" not in result.reason
    return result.reason


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"schema_version": 2}, "schema_version: unsupported version 2"),
        ({"schema_version": "1"}, "schema_version: unsupported version '1'"),
        ({"amount": 12.345}, "amount:"),
        ({"amount": 0}, "amount:"),
        ({"currency": "usd"}, "currency:"),
        ({"card_token": "4111111111111111"}, "card_token:"),
        ({"ip_address": "999.1.1.1"}, "ip_address:"),
        ({"fraud_type": "card_testing"}, "fraud_type must be set exactly when is_fraud is true"),
        ({"is_fraud": True}, "fraud_type must be set exactly when is_fraud is true"),
        ({"fraud_type": "money_laundering", "is_fraud": True}, "fraud_type:"),
        ({"device_id": None}, "ecom transactions need device_id"),
        ({"surprise": 1}, "surprise: Extra inputs are not permitted"),
        ({"lat": 91.0}, "lat:"),
    ],
)
def test_invalid_records_get_a_one_line_reason(overrides: dict[str, Any], expected: str) -> None:
    wire = event_to_json_bytes(_event(**overrides))
    assert expected in _reason(wire)
    assert expected in _reason(json.loads(wire))


def test_unknown_version_is_reported_before_field_errors() -> None:
    """A v2 record has other fields; the reason must blame the version, not a field."""
    record = {"schema_version": 7, "totally": "different"}
    assert _reason(json.dumps(record)).startswith("schema_version: unsupported version 7")
    assert _reason({"transaction_id": "x"}) == "schema_version: missing"


def test_garbage_input_is_explained() -> None:
    assert _reason(b"{not json").startswith("not valid JSON")
    assert _reason(b"\xff\xfe").startswith("not valid UTF-8")
    assert _reason(b"[1, 2]") == "not a JSON object (got list)"


def test_event_time_must_be_utc() -> None:
    naive = event_to_json_bytes(_event()).replace(b'.250000Z"', b'.250000"')
    assert "event_time must be a UTC timestamp" in _reason(naive)
    shifted = event_to_json_bytes(_event()).replace(b'.250000Z"', b'.250000+02:00"')
    assert "event_time must be a UTC timestamp" in _reason(shifted)


def test_model_is_immutable() -> None:
    event = TransactionEvent.model_validate(_event())
    with pytest.raises(ValueError, match="frozen"):
        event.amount = Decimal("1.00")  # type: ignore[misc]
