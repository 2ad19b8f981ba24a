"""What an alert says: one record per flagged transaction, rendered for SNS and for e-mail.

Why separate from the dispatch logic: the content is pure (rows in, text out), so it is
tested without servers, and the same record feeds the SNS message (JSON for machines and
the SQS tap), the plain-text e-mail and its HTML twin.

The fraud-type *guess* maps the reason codes (TreeSHAP contributions) onto the five fraud
archetypes the simulator and analysts use; it is a hint for triage, never a label.
"""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

#: Feature -> archetype it points to. Features not listed do not vote.
_ARCHETYPE_OF_FEATURE: dict[str, str] = {
    "new_device": "account_takeover",
    "new_ip": "account_takeover",
    "is_vpn": "account_takeover",
    "n_10m": "velocity_attack",
    "n_1h": "velocity_attack",
    "sum_10m": "velocity_attack",
    "sum_1h": "velocity_attack",
    "sum_24h": "velocity_attack",
    "seconds_since_prev": "velocity_attack",
    "speed_prev_kmh": "impossible_travel",
    "dist_prev_km": "impossible_travel",
    "country_changed": "impossible_travel",
    "account_age_days": "synthetic_identity",
    "n_history": "synthetic_identity",
}
#: A burst of charges this small is card testing rather than a velocity attack.
_CARD_TEST_MAX_AMOUNT = Decimal("5.00")
UNKNOWN_TYPE = "unknown"


@dataclass(frozen=True)
class Reason:
    """One reason code as the inference job stores it in ``fraud_predictions.reason_codes``."""

    feature: str
    value: float | None
    contribution: float

    def text(self) -> str:
        value = "missing" if self.value is None else f"{self.value:g}"
        return f"{self.feature.replace('_', ' ')} = {value} ({self.contribution:+.2f})"


@dataclass(frozen=True)
class Alert:
    """Everything an analyst needs to act on one flagged transaction."""

    transaction_id: str
    event_ts: datetime
    amount: Decimal
    currency: str
    merchant: str
    merchant_category: str
    card_token: str
    customer_id: str
    city: str
    country: str
    channel: str
    score: float
    model_version: str
    reasons: tuple[Reason, ...]
    dashboard_url: str

    @property
    def idempotency_key(self) -> str:
        """The same for every delivery attempt of this alert; receivers dedupe on it."""
        return f"fraud-alert:{self.transaction_id}"

    @property
    def fraud_type_guess(self) -> str:
        votes: dict[str, float] = {}
        for reason in self.reasons:
            archetype = _ARCHETYPE_OF_FEATURE.get(reason.feature)
            if archetype and reason.contribution > 0:
                votes[archetype] = votes.get(archetype, 0.0) + reason.contribution
        if not votes:
            return UNKNOWN_TYPE
        best = max(sorted(votes), key=votes.__getitem__)
        if best == "velocity_attack" and self.amount <= _CARD_TEST_MAX_AMOUNT:
            return "card_testing"
        return best

    def as_message(self) -> dict[str, Any]:
        """The SNS message body (JSON): plain values only, reasons in contribution order."""
        record = asdict(self)
        record.update(
            event_ts=self.event_ts.isoformat(),
            amount=str(self.amount),
            score=round(self.score, 4),
            reasons=[asdict(r) for r in self.reasons],
            fraud_type_guess=self.fraud_type_guess,
            idempotency_key=self.idempotency_key,
        )
        return record

    def subject(self) -> str:
        """At most 100 printable ASCII characters on one line (SNS rejects anything else)."""
        text = f"Fraud alert: {self.amount} {self.currency} at {self.merchant} (score {self.score:.2f})"
        ascii_text = text.encode("ascii", "replace").decode("ascii")
        return "".join(c if c.isprintable() else " " for c in ascii_text)[:100]

    def text_block(self) -> str:
        reasons = "\n".join(f"    - {r.text()}" for r in self.reasons) or "    - (none recorded)"
        return (
            f"Transaction {self.transaction_id}\n"
            f"  Amount:     {self.amount} {self.currency}\n"
            f"  Merchant:   {self.merchant} ({self.merchant_category})\n"
            f"  Card:       {self.card_token}   Customer: {self.customer_id}\n"
            f"  Time:       {self.event_ts.isoformat()}\n"
            f"  Location:   {self.city}, {self.country} ({self.channel})\n"
            f"  Score:      {self.score:.3f} (model {self.model_version})\n"
            f"  Likely:     {self.fraud_type_guess.replace('_', ' ')}\n"
            f"  Top reasons:\n{reasons}\n"
            f"  Inspect:    {self.dashboard_url}\n"
        )

    def html_row(self) -> str:
        cells = [
            f'<a href="{html.escape(self.dashboard_url)}">{html.escape(self.transaction_id)}</a>',
            html.escape(f"{self.amount} {self.currency}"),
            html.escape(f"{self.merchant} ({self.merchant_category})"),
            html.escape(self.card_token),
            html.escape(self.customer_id),
            html.escape(self.event_ts.isoformat()),
            html.escape(f"{self.city}, {self.country}"),
            f"{self.score:.3f}",
            html.escape(self.fraud_type_guess.replace("_", " ")),
            "<br>".join(html.escape(r.text()) for r in self.reasons),
        ]
        return "<tr>" + "".join(f"<td>{cell}</td>" for cell in cells) + "</tr>"


_HEADERS = (
    "Transaction",
    "Amount",
    "Merchant",
    "Card",
    "Customer",
    "Time",
    "Location",
    "Score",
    "Likely",
    "Reasons",
)


@dataclass(frozen=True)
class Email:
    """One e-mail: subject, plain-text body and HTML body."""

    subject: str
    text: str
    html: str


def parse_reasons(raw: Any) -> tuple[Reason, ...]:
    """Reason codes from the JSON column (a list of dicts, a JSON string, or NULL)."""
    items = json.loads(raw) if isinstance(raw, str) else raw or []
    reasons = [
        Reason(
            str(item["feature"]),
            None if item.get("value") is None else float(item["value"]),
            float(item["contribution"]),
        )
        for item in items
    ]
    return tuple(sorted(reasons, key=lambda r: -r.contribution))


def render_email(alerts: Sequence[Alert]) -> Email:
    """One alert, or a digest of several: readable as plain text and as HTML."""
    if len(alerts) == 1:
        subject = alerts[0].subject()
        intro = "A transaction was flagged as likely fraud."
    else:
        total = sum((a.amount for a in alerts), Decimal(0))
        subject = f"Fraud alert digest: {len(alerts)} flagged transactions ({total} total)"
        intro = f"{len(alerts)} transactions were flagged as likely fraud, highest score first."
    ordered = sorted(alerts, key=lambda a: -a.score)
    text = intro + "\n\n" + "\n".join(a.text_block() for a in ordered)
    header = "".join(f"<th>{h}</th>" for h in _HEADERS)
    body = "\n".join(a.html_row() for a in ordered)
    page = (
        f"<html><body><p>{html.escape(intro)}</p>"
        f'<table border="1" cellpadding="4" cellspacing="0"><tr>{header}</tr>\n{body}\n</table>'
        "</body></html>"
    )
    return Email(subject=subject, text=text, html=page)
