"""``validate_label`` never raises and always says why, whatever the input (like ``validate_event``)."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fraudstack.labels import LABEL_EVENT_FIELDS, label_to_json_bytes, validate_label
from fraudstack.schema import MAX_REASON_LENGTH
from tests.hostile import SPECIAL_VALUES, encode, json_values

BASE: dict[str, Any] = {
    "transaction_id": "tx_0001",
    "is_fraud": True,
    "source": "chargeback",
    "known_at": "2025-03-09T08:00:00.000000Z",
}
PROPERTY_SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
fields = st.sampled_from([*LABEL_EVENT_FIELDS, "unknown_field"])


def assert_consistent(raw: bytes | dict[str, Any]) -> None:
    verdict = validate_label(raw)
    assert verdict.ok != (verdict.reason is not None)
    if verdict.reason is not None:
        assert (
            verdict.reason.strip() and "\n" not in verdict.reason and len(verdict.reason) <= MAX_REASON_LENGTH
        )
    else:
        assert verdict.label is not None
        assert validate_label(label_to_json_bytes(verdict.label)).label == verdict.label


@PROPERTY_SETTINGS
@given(field=fields, value=json_values)
def test_any_value_in_any_field(field: str, value: Any) -> None:
    assert_consistent(encode({**BASE, field: value}))


@PROPERTY_SETTINGS
@given(field=fields, value=st.sampled_from(SPECIAL_VALUES))
def test_special_values_in_any_field(field: str, value: Any) -> None:
    assert_consistent({**BASE, field: value})


@PROPERTY_SETTINGS
@given(raw=st.binary(max_size=300))
def test_arbitrary_bytes(raw: bytes) -> None:
    assert_consistent(raw)


@PROPERTY_SETTINGS
@given(value=json_values)
def test_any_json_document(value: Any) -> None:
    assert_consistent(encode(value))
