"""Property tests: no input makes validation raise, and every path gives the same verdict.

The paths are the schema model (:func:`validate_event`, used by the bridge and the slow
paths), the wire fast path (:func:`parse_event`, the scorer) and :func:`screen` (the ETL's
Spark UDF). Inputs: any JSON value in any field of a valid event, missing and unknown
fields, duplicate keys, broken bytes, deep nesting, records up to the broker's size limit.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fraudstack.schema import FIELDS, MAX_REASON_LENGTH, event_to_json_bytes, validate_event
from fraudstack.wire import parse_event, screen, wire_form
from tests.hostile import (
    MAX_MESSAGE_BYTES,
    SPECIAL_VALUES,
    broken_texts,
    encode,
    json_values,
    mutated,
    with_duplicate_key,
)
from tests.support.simulated import stream_events

BASES = [e for e in stream_events(customers=60, days=2, seed=11) if e["channel"] in {"ecom", "pos", "atm"}][
    :60
]
PROPERTY_SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

bases = st.sampled_from(BASES)
fields = st.sampled_from([*FIELDS, "unknown_field"])


def assert_consistent(raw: bytes) -> None:
    """The properties every record must have, whatever it holds."""
    verdict = validate_event(raw)
    assert verdict.ok != (verdict.reason is not None), raw[:200]
    if verdict.reason is not None:
        assert verdict.reason.strip() and "\n" not in verdict.reason, verdict.reason
        assert len(verdict.reason) <= MAX_REASON_LENGTH
    fast = parse_event(raw)
    if fast is not None:  # the fast path accepts only what the model accepts, with its values
        assert verdict.event is not None, (raw[:200], verdict.reason)
        expected = wire_form(verdict.event)
        assert fast == {name: expected[name] for name in fast}
    reason, canonical = screen(raw)
    assert reason == verdict.reason
    if canonical is not None:  # the canonical text holds exactly the validated values
        assert verdict.event is not None and fast is None
        assert validate_event(canonical).event == verdict.event
        assert b"\n" not in canonical.encode()


@PROPERTY_SETTINGS
@given(base=bases, field=fields, value=json_values)
def test_any_value_in_any_field(base: dict[str, Any], field: str, value: Any) -> None:
    assert_consistent(mutated(base, field, value))


@PROPERTY_SETTINGS
@given(base=bases, field=fields, value=st.sampled_from(SPECIAL_VALUES))
def test_special_values_in_any_field(base: dict[str, Any], field: str, value: Any) -> None:
    assert_consistent(mutated(base, field, value))


@PROPERTY_SETTINGS
@given(base=bases, field=st.sampled_from(FIELDS))
def test_missing_fields(base: dict[str, Any], field: str) -> None:
    assert_consistent(mutated(base, field, ...))


@PROPERTY_SETTINGS
@given(base=bases, field=st.sampled_from(FIELDS), value=json_values)
def test_duplicate_keys_are_rejected(base: dict[str, Any], field: str, value: Any) -> None:
    raw = with_duplicate_key(event_to_json_bytes(base), field, value)
    assert_consistent(raw)
    reason = validate_event(raw).reason
    assert reason is not None, "a record with a key twice must be rejected: readers disagree on which wins"


@PROPERTY_SETTINGS
@given(base=bases, position=st.integers(min_value=0), junk=st.binary(min_size=1, max_size=8))
def test_bytes_spliced_into_a_record(base: dict[str, Any], position: int, junk: bytes) -> None:
    raw = event_to_json_bytes(base)
    at = position % len(raw)
    assert_consistent(raw[:at] + junk + raw[at:])


@PROPERTY_SETTINGS
@given(raw=st.binary(max_size=300))
def test_arbitrary_bytes(raw: bytes) -> None:
    assert_consistent(raw)


@PROPERTY_SETTINGS
@given(value=json_values)
def test_any_json_document(value: Any) -> None:
    assert_consistent(encode(value))


@PROPERTY_SETTINGS
@given(
    base=bases,
    changes=st.dictionaries(st.sampled_from(FIELDS), json_values, max_size=3),
)
def test_mappings_never_raise(base: dict[str, Any], changes: dict[str, Any]) -> None:
    verdict = validate_event({**base, **changes})
    assert verdict.ok != (verdict.reason is not None)


def test_lenient_spellings_get_a_canonical_text() -> None:
    """Values the model reads leniently come back in the one spelling every reader agrees on."""
    base = json.loads(event_to_json_bytes(BASES[0]))
    lenient = json.dumps({**base, "schema_version": 1.0, "amount": str(base["amount"])}).encode()
    reason, canonical = screen(lenient)
    assert reason is None and canonical is not None
    assert parse_event(canonical.encode()) is not None


@pytest.mark.parametrize("index", range(len(broken_texts(b"{}"))))
def test_broken_texts(index: int) -> None:
    raw = broken_texts(event_to_json_bytes(BASES[0]))[index]
    assert_consistent(raw)
    assert not validate_event(raw).ok


def test_a_record_at_the_brokers_size_limit() -> None:
    event = json.loads(event_to_json_bytes(BASES[0]))
    event["merchant_name"] = "m" * (MAX_MESSAGE_BYTES - 1000)
    raw = encode(event)
    assert_consistent(raw)
    assert validate_event(raw).reason == "merchant_name: String should have at most 128 characters"
