"""The fast path from a raw record to a valid event, with the schema's exact verdicts.

Why: the pydantic model (:func:`fraudstack.schema.validate_event`) is the dearest step of
taking in an event, a large share of the scorer's per-event budget and of the ETL's
validation time (BENCHMARKS.md, streaming scorer and ETL).
Producers write one canonical form (:func:`fraudstack.schema.event_to_json_bytes`: compact
JSON, every field in schema order, times as ``YYYY-MM-DDTHH:MM:SS.ffffffZ``).
:func:`parse_event` recognises that form with one regular expression whose value patterns
are a strict subset of what the schema accepts, then checks in Python what a regular
expression cannot (calendar dates, number ranges, the schema's cross-field rules), in a
fraction of the model's time.

So a record it accepts is one the model accepts, with the same values; for anything else
(other key order or spacing, escapes in strings, IPv6, invalid records) it returns None
and the caller asks the model, which gives the verdict and the dead-letter reason. A
schema change must update the patterns here: ``tests/test_wire.py`` fails until it does.

Events come out as :func:`wire_form` gives a model's: the JSON types (times as their
canonical text, ``amount`` a float), which :meth:`fraudstack.features.OnlineFeatures.update`
and :func:`fraudstack.scoring.decision_records.decision_record` read. Only the fields a scorer or
a check needs are kept.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any, get_args

from fraudstack.schema import (
    FIELDS,
    SCHEMA_VERSION,
    CardType,
    Channel,
    DeviceOS,
    EntryMode,
    FraudType,
    TransactionEvent,
    event_to_json_bytes,
    validate_event,
)

WireEvent = dict[str, Any]


def _one_of(literal: Any) -> str:
    return "(?:" + "|".join(re.escape(value) for value in get_args(literal)) + ")"


def _text(max_length: int) -> str:
    """A JSON string of 1..``max_length`` characters without escapes (the model counts characters too)."""
    return rf'"[^"\\\x00-\x1f]{{1,{max_length}}}"'


_ID = r"[A-Za-z0-9_\-]{1,64}"
#: A decimal as Python's float repr writes one (``1e-05`` for tiny values): Python and pydantic
#: both round it correctly to the same float.
_DEGREES = r"-?(?:0|[1-9][0-9]{0,2})(?:\.[0-9]{1,17})?(?:e-[0-9]{2,3})?"
#: Exactly the dotted quads :func:`ipaddress.ip_address` accepts (no leading zeros, <= 255).
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])"

#: Per field, a pattern for its canonical value; named groups are the fields the scorer reads.
_VALUES: dict[str, str] = {
    "schema_version": str(SCHEMA_VERSION),
    "transaction_id": f'"(?P<transaction_id>{_ID})"',
    # Years from 1000 on: the decision record's strftime writes earlier years without padding.
    "event_time": r'"(?P<event_time>[1-9][0-9]{3}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z)"',
    "customer_id": f'"(?P<customer_id>{_ID})"',
    "customer_account_created": '"(?P<customer_account_created>[0-9]{4}-[0-9]{2}-[0-9]{2})"',
    "card_id": f'"(?P<card_id>{_ID})"',
    "card_token": '"tok_[0-9a-f]{24}"',
    "card_type": f'"{_one_of(CardType)}"',
    "issuing_bank": _text(64),
    "merchant_id": f'"(?P<merchant_id>{_ID})"',
    "merchant_name": _text(128),
    "merchant_category_code": '"(?P<merchant_category_code>[0-9]{4})"',
    "merchant_category": _text(64),
    "merchant_lat": f"(?P<merchant_lat>{_DEGREES})",
    "merchant_lon": f"(?P<merchant_lon>{_DEGREES})",
    # At most 10 + 2 digits: the model's Decimal(max_digits=12, decimal_places=2) holds it exactly.
    "amount": r"(?P<amount>(?:0|[1-9][0-9]{0,9})(?:\.[0-9]{1,2})?)",
    "currency": '"(?P<currency>[A-Z]{3})"',
    "channel": f'"(?P<channel>{_one_of(Channel)})"',
    "entry_mode": f'"(?P<entry_mode>{_one_of(EntryMode)})"',
    "device_id": f'(?:null|"(?P<device_id>{_ID})")',
    "device_os": f'(?:null|"{_one_of(DeviceOS)}")',
    "ip_address": rf'(?:null|"(?P<ip_address>{_OCTET}(?:\.{_OCTET}){{3}})")',
    "ip_is_vpn": "(?:null|(?P<ip_is_vpn>true|false))",
    "lat": f"(?P<lat>{_DEGREES})",
    "lon": f"(?P<lon>{_DEGREES})",
    "city": _text(64),
    "country": '"(?P<country>[A-Z]{2})"',
    "is_fraud": "(?P<is_fraud>true|false)",
    "fraud_type": f'(?:null|"(?P<fraud_type>{_one_of(FraudType)})")',
}

# A KeyError here means the schema gained a field: add its pattern above.
_CANONICAL = re.compile("{" + ",".join(f'"{name}":{_VALUES[name]}' for name in FIELDS) + "}")

_match = _CANONICAL.fullmatch
_parse_time = datetime.fromisoformat
_parse_date = date.fromisoformat


def parse_event(raw: bytes) -> WireEvent | None:
    """The event's fields in wire form if ``raw`` is a valid canonical record, else None (ask the model)."""
    try:
        return _parse_text(raw.decode())
    except UnicodeDecodeError:
        return None


def rejection(text: str) -> str | None:
    """Why ``text`` is not a valid event (the schema's reason), or None when it is one."""
    return screen(text)[0]


def screen(raw: bytes | str) -> tuple[str | None, str | None]:
    """``(reason, None)`` for an invalid record, else ``(None, canonical)``; never raises.

    ``canonical`` is None when ``raw`` already is the canonical form, else the canonical
    text of the event the model validated. Why a reader wants it: the model reads some
    spellings leniently (``"amount": "12.50"``, ``"schema_version": 1.0``, times with an
    offset) that another JSON reader (Spark's ``from_json``) reads differently or not at
    all, so a reader that parses the record again must parse the canonical text to load
    exactly the values that were validated.
    """
    try:
        text = raw if isinstance(raw, str) else raw.decode()
    except UnicodeDecodeError:
        return validate_event(raw).reason, None
    if _parse_text(text) is not None:
        return None, None
    result = validate_event(text)
    if result.event is None:
        return result.reason or "invalid record", None
    return None, event_to_json_bytes(result.event).decode()


def _parse_text(text: str) -> WireEvent | None:
    found = _match(text)
    if found is None:
        return None
    event = found.groupdict()
    try:
        _parse_time(event["event_time"])
        _parse_date(event["customer_account_created"])
    except ValueError:
        return None
    amount = float(event["amount"])
    lat, lon = float(event["lat"]), float(event["lon"])
    merchant_lat, merchant_lon = float(event["merchant_lat"]), float(event["merchant_lon"])
    if not (
        amount > 0
        and -90 <= lat <= 90
        and -180 <= lon <= 180
        and -90 <= merchant_lat <= 90
        and -180 <= merchant_lon <= 180
    ):
        return None
    is_fraud = event["is_fraud"] == "true"
    if is_fraud != (event["fraud_type"] is not None):
        return None
    if event["channel"] == "ecom" and (event["device_id"] is None or event["ip_address"] is None):
        return None
    vpn = event["ip_is_vpn"]
    event.update(
        amount=amount,
        lat=lat,
        lon=lon,
        merchant_lat=merchant_lat,
        merchant_lon=merchant_lon,
        is_fraud=is_fraud,
        ip_is_vpn=None if vpn is None else vpn == "true",
    )
    return event


def wire_form(event: TransactionEvent) -> WireEvent:
    """A model-validated event in the form :func:`parse_event` gives (the slow path's output)."""
    return event.model_dump(mode="json")
