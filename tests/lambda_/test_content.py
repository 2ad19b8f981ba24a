"""Alert content: every field an analyst needs, readable text and HTML, digests, type guesses."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from fraudstack.alerts.content import Alert, Reason, parse_reasons, render_email


def alert(transaction_id: str = "tx_1", reasons: tuple[Reason, ...] = (), amount: str = "1234.50") -> Alert:
    return Alert(
        transaction_id=transaction_id,
        event_ts=datetime(2026, 11, 3, 14, 30, tzinfo=UTC),
        amount=Decimal(amount),
        currency="USD",
        merchant="Gadget <Hub>",
        merchant_category="electronics",
        card_token="tok_abc",
        customer_id="cus_1",
        city="New York",
        country="US",
        channel="ecom",
        score=0.9731,
        model_version="v7",
        reasons=reasons,
        dashboard_url=f"http://localhost:8501/?transaction_id={transaction_id}",
    )


@pytest.mark.parametrize(
    ("features", "amount", "expected"),
    [
        (("new_device", "is_vpn"), "900", "account_takeover"),
        (("n_10m", "sum_10m"), "1.20", "card_testing"),
        (("n_10m", "sum_10m"), "800", "velocity_attack"),
        (("speed_prev_kmh",), "60", "impossible_travel"),
        (("account_age_days",), "300", "synthetic_identity"),
        (("mcc",), "300", "unknown"),
    ],
)
def test_fraud_type_guess_follows_the_reasons(features: tuple[str, ...], amount: str, expected: str) -> None:
    reasons = tuple(Reason(f, 1.0, 1.0) for f in features)
    assert alert(reasons=reasons, amount=amount).fraud_type_guess == expected


def test_message_has_every_field_and_the_idempotency_key() -> None:
    message = alert(reasons=(Reason("new_device", 1.0, 2.0),)).as_message()
    for key in ("amount", "merchant", "card_token", "customer_id", "event_ts", "city", "country", "score"):
        assert message[key], key
    assert message["fraud_type_guess"] == "account_takeover"
    assert message["idempotency_key"] == "fraud-alert:tx_1"
    assert message["reasons"] == [{"feature": "new_device", "value": 1.0, "contribution": 2.0}]
    json.dumps(message)


def test_reasons_parse_from_json_sorted_by_contribution() -> None:
    raw = json.dumps(
        [
            {"feature": "a", "value": None, "contribution": 0.5},
            {"feature": "b", "value": 2, "contribution": 1.5},
        ]
    )
    assert [r.feature for r in parse_reasons(raw)] == ["b", "a"]
    assert parse_reasons(None) == ()


def test_one_alert_is_one_mail_and_many_are_a_digest_escaped_in_html() -> None:
    single = render_email([alert()])
    assert single.subject.startswith("Fraud alert: 1234.50 USD at Gadget <Hub>")
    assert "tok_abc" in single.text and "http://localhost:8501/?transaction_id=tx_1" in single.text
    assert "Gadget &lt;Hub&gt;" in single.html and "<Hub>" not in single.html

    digest = render_email([alert(f"tx_{i}") for i in range(5)])
    assert digest.subject.startswith("Fraud alert digest: 5 flagged transactions")
    assert all(f"tx_{i}" in digest.text and f"tx_{i}" in digest.html for i in range(5))


def test_subject_fits_sns_limits() -> None:
    subject = alert().subject()
    assert len(subject) <= 100 and subject.isascii()


def test_subject_is_one_printable_line_whatever_the_merchant_is_called() -> None:
    subject = replace(alert(), merchant="Evil\r\nBcc: all@example.com\x00<script>").subject()
    assert subject.isascii() and subject.isprintable(), subject
    assert "\n" not in subject and "\r" not in subject
