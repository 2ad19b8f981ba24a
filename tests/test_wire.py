"""The scorer's fast path accepts only what the schema accepts, with the same values (no broker)."""

from __future__ import annotations

import hashlib
import inspect
import json
from typing import Any

import pytest

from fraudstack import schema
from fraudstack.schema import event_to_json_bytes, validate_event
from fraudstack.wire import parse_event, rejection, wire_form
from tests.support.simulated import stream_events

#: sha256 of the schema (its JSON Schema and the model's Python checks) wire.py was written for.
SCHEMA_SHA256 = "47160af17ff47b405881880bc3b53ca41f0aeb3f5991a811cddd297f88f6ae18"


def _base(channel: str) -> dict[str, Any]:
    events = stream_events(customers=50, days=2, seed=4)
    return next(e for e in events if e["channel"] == channel)


def _replace(raw: bytes, old: str, new: str) -> bytes:
    assert old.encode() in raw, old
    return raw.replace(old.encode(), new.encode(), 1)


def _mutations(event: dict[str, Any]) -> list[bytes]:
    """Canonical records with one field changed each, plus non-canonical spellings of valid ones."""
    raw = event_to_json_bytes(event)
    text = raw.decode()
    parsed = json.loads(text)
    out: list[bytes] = []
    values: dict[str, list[Any]] = {
        "schema_version": [0, 2, 1.0, True, "1", None],
        "transaction_id": ["", "a" * 64, "a" * 65, "tx 1", "tx/1", "tx_é", 5, None],
        "event_time": [
            "2025-01-01T05:00:09Z",
            "2025-01-01T05:00:09.123Z",
            "2025-01-01T05:00:09.930652+00:00",
            "2025-01-01T05:00:09.930652+01:00",
            "2025-01-01T05:00:09.930652",
            "2025-13-01T05:00:09.930652Z",
            "2025-02-30T05:00:09.930652Z",
            "2025-01-01T24:00:00.000000Z",
            "2025-01-01T23:59:60.000000Z",
            "0999-01-01T05:00:09.930652Z",
            "0000-01-01T05:00:09.930652Z",
            1735707609,
            "",
        ],
        "customer_account_created": ["2014-02-29", "2014-1-18", "2014-10-18T00:00:00Z", "0000-01-01", 5],
        "card_token": ["tok_" + "a" * 24, "tok_" + "A" * 24, "tok_" + "a" * 23, "tok_" + "a" * 25],
        "card_type": ["credit", "CREDIT", "gold", None],
        "issuing_bank": ["", "b" * 64, "b" * 65, "Bänk", 'Ba"nk', "Ba\\nk", "Ba\nk", "Ba\u0001k", "🏦" * 64],
        "merchant_name": ["m" * 128, "m" * 129, "Café"],
        "merchant_category_code": ["5411", "541", "54111", "\uff15\uff14\uff11\uff11", "54a1", 5411],
        "merchant_lat": [90, 90.0, 90.0000001, -90, -90.5, 1e1, 42, "42.5", True],
        "merchant_lon": [180, 180.0001, -180, -181, 0, -0.0],
        "amount": [
            0,
            0.0,
            -1,
            0.001,
            0.01,
            0.1,
            5,
            5.0,
            1e2,
            1.5e-1,
            100.10,
            9999999999.99,
            12345678901.5,
            120.5300000000001,
            "12.50",
            True,
            None,
        ],
        "currency": ["USD", "usd", "US", "USDX", None],
        "channel": ["pos", "ecom", "atm", "web", "POS"],
        "entry_mode": ["chip", "card_not_present", "swipe"],
        "device_id": [None, "d1", "", "d 1"],
        "device_os": [None, "ios", "iOS", "beos"],
        "ip_address": [
            None,
            "1.2.3.4",
            "0.0.0.0",
            "255.255.255.255",
            "256.1.1.1",
            "01.2.3.4",
            "1.2.3",
            "1.2.3.4.5",
            "::1",
            "2001:db8::1",
            "1.2.3.4 ",
            "",
        ],
        "ip_is_vpn": [None, True, False, 0, "true"],
        "lat": [90, 90.01, -90, 45.123456789012345678, "45"],
        "lon": [180, -180, 180.01, 1e-5, -1.5e-7, 2e-300, 5e-324],
        "city": ["", "c" * 64, "c" * 65, "São Paulo", "Zürich"],
        "country": ["US", "us", "USA", "Ü" + "S"],
        "is_fraud": [True, False, 1, "true", None],
        "fraud_type": [None, "card_testing", "phishing"],
    }
    for name, candidates in values.items():
        for value in candidates:
            out.append(event_to_json_bytes({**parsed, name: value}))
        out.append(event_to_json_bytes({k: v for k, v in parsed.items() if k != name}))
    # Tokens a JSON encoder would not write but a producer might.
    out += [
        _replace(raw, f'"amount":{parsed["amount"]}', '"amount":120.530'),
        _replace(raw, f'"amount":{parsed["amount"]}', '"amount":1E-2'),
        _replace(raw, f'"amount":{parsed["amount"]}', '"amount":00.5'),
        _replace(raw, f'"lat":{parsed["lat"]}', '"lat":NaN'),
        _replace(raw, f'"city":"{parsed["city"]}"', '"city":"Bos\\u0074on"'),
        _replace(raw, '"schema_version":1', '"schema_version":1,"schema_version":1'),
        _replace(raw, f'"amount":{parsed["amount"]}', '"amount":-1,"amount":5'),
        _replace(raw, f'"amount":{parsed["amount"]}', '"amount":5,"amount":-1'),
        raw.replace(b'"city":"', b'"city":"\xed\xa0\x80'),
        raw.replace(b'"city":"', b'"city":"\xff'),
        raw[:-1] + b',"extra":1}',
        raw + b" ",
        raw[:-1],
        json.dumps(parsed).encode(),  # spaces after separators
        json.dumps(dict(reversed(parsed.items())), separators=(",", ":")).encode(),  # other key order
        b"not json",
        b"[]",
        b"",
    ]
    # Cross-field rules.
    out.append(event_to_json_bytes({**parsed, "is_fraud": True, "fraud_type": None}))
    out.append(event_to_json_bytes({**parsed, "is_fraud": False, "fraud_type": "card_testing"}))
    out.append(event_to_json_bytes({**parsed, "channel": "ecom", "device_id": None}))
    out.append(event_to_json_bytes({**parsed, "channel": "ecom", "ip_address": None}))
    return out


def _same_verdict(raw: bytes) -> bool:
    """Asserts the fast path never accepts what the model rejects; True if it took the record."""
    fast = parse_event(raw)
    if fast is None:
        return False
    full = validate_event(raw)
    assert full.event is not None, (raw, full.reason)
    expected = wire_form(full.event)
    assert fast == {name: expected[name] for name in fast}, raw
    return True


def test_canonical_records_take_the_fast_path_with_the_models_values() -> None:
    events = stream_events(customers=300, days=3, seed=21)
    assert all(_same_verdict(event_to_json_bytes(e)) for e in events)


@pytest.mark.parametrize("channel", ["ecom", "pos"])
def test_the_fast_path_never_accepts_what_the_model_rejects(channel: str) -> None:
    records = _mutations(_base(channel))
    taken = sum(_same_verdict(raw) for raw in records)
    rejected = sum(not validate_event(raw).ok for raw in records)
    # Both outcomes must be exercised, or the test proves nothing.
    assert taken >= 40 and rejected >= 100, (taken, rejected)


def test_the_patterns_were_reviewed_against_this_schema() -> None:
    source = "".join(
        [
            schema.render_json_schema(),
            inspect.getsource(schema.TransactionEvent),
            inspect.getsource(schema._check_ip),
        ]
    )
    digest = hashlib.sha256(source.encode()).hexdigest()
    assert digest == SCHEMA_SHA256, (
        "the event schema changed: review the patterns in fraudstack/wire.py against it "
        f"(they must accept nothing the model rejects), then set SCHEMA_SHA256 to {digest}"
    )


@pytest.mark.parametrize("channel", ["ecom", "pos"])
def test_rejection_gives_the_models_reason(channel: str) -> None:
    base = _base(channel)
    records = [event_to_json_bytes(base), *_mutations(base)]
    texts = [raw.decode("utf-8", "replace") for raw in records]
    verdicts = [rejection(text) for text in texts]
    assert verdicts == [validate_event(text).reason for text in texts]
    assert verdicts[0] is None and sum(v is not None for v in verdicts) >= 100
