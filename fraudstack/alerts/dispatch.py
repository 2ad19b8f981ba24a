"""Send each fraud alert once: claim in the warehouse, publish to SNS, e-mail through SES, record.

The guarantee, and why it holds
-------------------------------
*Never twice from concurrent or repeated runs.* A transaction is claimed by inserting its
row into ``fraud_alerts`` (``transaction_id`` is unique) with ``INSERT ... ON CONFLICT DO
NOTHING RETURNING``, committed **before** anything is sent. Of any number of concurrent
invocations exactly one insert wins per transaction (the others wait on the unique index,
then do nothing), and only the winner sends. A later run sees the row and skips it.

*Never lost.* A claim is a lease: a row still ``claimed`` after ``lease_seconds`` (the
invocation crashed or timed out between claim and ``sent``) is taken over by the next run
(``UPDATE ... FOR UPDATE SKIP LOCKED``, so again exactly one run takes it) and sent then.
The lease must be longer than the function timeout (the deploy sets 5x), so a live
invocation's claim is never taken over while it is still sending.

*The one duplicate risk, bounded.* Sending and recording cannot be one transaction. Each
step is recorded as soon as it is done: after the SNS publish the row gets ``channel='sns'``
and the message id (a takeover does not publish again), after the e-mail ``status='sent'``.
Only a crash in the instant between an API call returning and its record committing makes
the takeover repeat *that one* call. Every delivery carries the alert's idempotency key
(``fraud-alert:<transaction_id>``: an SNS message attribute, the FIFO deduplication id on
a ``.fifo`` topic where SNS itself drops the repeat, and the transaction id in the e-mail),
so a receiver can recognise the repeat. That is at-least-once delivery with
exactly-once effect for deduplicating receivers, and exactly-once otherwise.

SQL is PostgreSQL (the local warehouse). Redshift has no ``ON CONFLICT``/``RETURNING``;
there the claim would take ``LOCK fraud_alerts`` and insert with ``NOT EXISTS`` instead.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import psycopg2

from fraudstack.alerts.content import Alert, parse_reasons, render_email
from fraudstack.errors import FraudstackError
from fraudstack.settings import Settings
from fraudstack.warehouse import Dialect, Warehouse
from fraudstack.warehouse.connection import _secret_params

#: Decisions that alert: the inference job (and the streaming scorer) decide ``review`` at the
#: model's own threshold and ``decline`` above a higher one; ``approve`` never alerts.
ALERT_DECISIONS = ("review", "decline")
#: Alerts above this many in one run go out as one digest e-mail instead of one each.
DIGEST_AFTER = 3
#: SES takes at most 50 recipients per message.
_MAX_RECIPIENTS = 50

#: The latest prediction of each transaction, when its decision alerts, its score reaches
#: ``min_score`` and no alert row exists yet. Parameters: decisions, min_score.
_CANDIDATES = """
SELECT l.transaction_id, l.model_version
FROM (
    SELECT transaction_id, model_version, score, decision,
           ROW_NUMBER() OVER (PARTITION BY transaction_id ORDER BY scored_at DESC, model_version DESC) AS rn
    FROM fraud_predictions
) AS l
WHERE l.rn = 1 AND l.decision = ANY(%s) AND l.score >= %s
  AND NOT EXISTS (SELECT 1 FROM fraud_alerts AS a WHERE a.transaction_id = l.transaction_id)
"""

_CLAIM = f"""
INSERT INTO fraud_alerts (transaction_id, model_version, status)
SELECT c.transaction_id, c.model_version, 'claimed'
FROM ({_CANDIDATES}) AS c
ORDER BY c.transaction_id
LIMIT %s
ON CONFLICT (transaction_id) DO NOTHING
RETURNING transaction_id
"""

#: Expired claims (their invocation died); SKIP LOCKED so concurrent runs split them.
_TAKE_OVER = """
UPDATE fraud_alerts SET claimed_at = now()
WHERE alert_id IN (
    SELECT alert_id FROM fraud_alerts
    WHERE status = 'claimed' AND claimed_at < now() - %s * INTERVAL '1 second'
    ORDER BY alert_id
    LIMIT %s
    FOR UPDATE SKIP LOCKED
)
RETURNING transaction_id
"""

_EXPIRED_COUNT = """
SELECT count(*) FROM fraud_alerts
WHERE status = 'claimed' AND claimed_at < now() - %s * INTERVAL '1 second'
"""

_DETAILS = """
SELECT f.transaction_id, f.event_ts, f.amount, f.currency, m.merchant_name, m.merchant_category,
       c.card_token, f.customer_id, l.city, l.country, f.channel, p.score, p.model_version,
       p.reason_codes, a.channel
FROM fraud_alerts AS a
JOIN fact_transactions AS f ON f.transaction_id = a.transaction_id
JOIN fraud_predictions AS p ON p.transaction_id = a.transaction_id AND p.model_version = a.model_version
JOIN dim_merchant AS m ON m.merchant_id = f.merchant_id
JOIN dim_card AS c ON c.card_id = f.card_id
JOIN dim_location AS l ON l.location_key = f.location_key
WHERE a.transaction_id = ANY(%s)
ORDER BY f.transaction_id
"""


@dataclass(frozen=True)
class DispatchConfig:
    """What one run may do and where it sends (built from settings by the handler)."""

    min_score: float  # on top of the decision: 0 alerts every review/decline
    lease_seconds: int
    max_alerts: int
    topic_arn: str
    sender: str
    recipients: tuple[str, ...]
    dashboard_url: str  # base URL; the transaction id is appended as a query parameter


@dataclass
class DispatchSummary:
    """What a send run did; the Lambda returns it (small: counts only)."""

    claimed: int = 0
    taken_over: int = 0
    published: int = 0
    emails: int = 0
    alerts_sent: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def connect_from_secret(settings: Settings) -> Warehouse:
    """The warehouse from the Secrets Manager secret (the Lambda has no other credentials)."""
    params = _secret_params(settings)
    try:
        conn = psycopg2.connect(connect_timeout=10, application_name="fraudstack-alerts", **params)
    except psycopg2.OperationalError as exc:
        raise FraudstackError(f"cannot connect to the warehouse from the alert handler: {exc}") from exc
    return Warehouse(conn, settings)


def _require_postgres(wh: Warehouse) -> None:
    if wh.dialect is not Dialect.POSTGRES:
        raise FraudstackError(
            "alert dispatch claims rows with ON CONFLICT ... RETURNING: PostgreSQL only so far"
        )


def pending(wh: Warehouse, config: DispatchConfig) -> int:
    """Alerts a send run would handle now: new candidates plus expired claims."""
    _require_postgres(wh)
    candidates = (list(ALERT_DECISIONS), config.min_score)
    new = wh.query(f"SELECT count(*) FROM ({_CANDIDATES}) AS c", candidates)[0][0]
    expired = wh.query(_EXPIRED_COUNT, (config.lease_seconds,))[0][0]
    wh.commit()
    return int(new) + int(expired)


def claim(wh: Warehouse, config: DispatchConfig) -> tuple[list[str], list[str]]:
    """Claim new candidates and take over expired claims; committed before anything is sent."""
    _require_postgres(wh)
    taken = [str(r[0]) for r in wh.query(_TAKE_OVER, (config.lease_seconds, config.max_alerts))]
    room = max(config.max_alerts - len(taken), 0)
    claimed: list[str] = []
    if room:
        claimed = [str(r[0]) for r in wh.query(_CLAIM, (list(ALERT_DECISIONS), config.min_score, room))]
    wh.commit()
    return claimed, taken


def _load(wh: Warehouse, ids: Sequence[str], config: DispatchConfig) -> list[tuple[Alert, bool]]:
    """(alert, already published to SNS) for each claimed transaction."""
    rows = wh.query(_DETAILS, (list(ids),))
    wh.commit()
    return [
        (
            Alert(
                transaction_id=row[0],
                event_ts=row[1],
                amount=row[2],
                currency=row[3],
                merchant=row[4],
                merchant_category=row[5],
                card_token=row[6],
                customer_id=row[7],
                city=row[8],
                country=row[9],
                channel=row[10],
                score=float(row[11]),
                model_version=row[12],
                reasons=parse_reasons(row[13])[:3],
                dashboard_url=f"{config.dashboard_url}?transaction_id={row[0]}",
            ),
            row[14] == "sns",
        )
        for row in rows
    ]


def _publish(sns: Any, alert: Alert, topic_arn: str) -> str:
    attributes = {
        "idempotency_key": {"DataType": "String", "StringValue": alert.idempotency_key},
        "transaction_id": {"DataType": "String", "StringValue": alert.transaction_id},
        "fraud_type_guess": {"DataType": "String", "StringValue": alert.fraud_type_guess},
        "score": {"DataType": "Number", "StringValue": f"{alert.score:.4f}"},
    }
    extra: dict[str, str] = {}
    if topic_arn.endswith(".fifo"):  # SNS itself drops a repeat within its 5-minute window
        extra = {"MessageDeduplicationId": alert.idempotency_key, "MessageGroupId": alert.card_token}
    response = sns.publish(
        TopicArn=topic_arn,
        Subject=alert.subject(),
        Message=json.dumps(alert.as_message(), sort_keys=True),
        MessageAttributes=attributes,
        **extra,
    )
    return str(response["MessageId"])


def _email_batches(alerts: list[Alert]) -> list[list[Alert]]:
    """One e-mail per alert when few arrive; one digest when many."""
    return [alerts] if len(alerts) > DIGEST_AFTER else [[a] for a in alerts]


def send(wh: Warehouse, sns: Any, ses: Any, config: DispatchConfig) -> DispatchSummary:
    """Claim, publish, e-mail and record every pending alert (up to ``max_alerts``)."""
    claimed, taken = claim(wh, config)
    summary = DispatchSummary(claimed=len(claimed), taken_over=len(taken))
    loaded = _load(wh, [*claimed, *taken], config)
    for alert, published in loaded:
        if published:
            continue  # a takeover of a run that died after publishing: do not publish again
        message_id = _publish(sns, alert, config.topic_arn)
        wh.execute(
            "UPDATE fraud_alerts SET channel = %s, message_id = %s WHERE transaction_id = %s AND status = %s",
            ("sns", message_id, alert.transaction_id, "claimed"),
        )
        wh.commit()
        summary.published += 1
    for batch in _email_batches([alert for alert, _ in loaded]):
        email = render_email(batch)
        for start in range(0, len(config.recipients), _MAX_RECIPIENTS):
            ses.send_email(
                Source=config.sender,
                Destination={"ToAddresses": list(config.recipients[start : start + _MAX_RECIPIENTS])},
                Message={
                    "Subject": {"Data": email.subject, "Charset": "UTF-8"},
                    "Body": {
                        "Text": {"Data": email.text, "Charset": "UTF-8"},
                        "Html": {"Data": email.html, "Charset": "UTF-8"},
                    },
                },
            )
        summary.emails += 1
        sent = wh.execute(
            "UPDATE fraud_alerts SET status = %s, sent_at = now(), channel = %s "
            "WHERE transaction_id = ANY(%s) AND status = %s",
            ("sent", "sns+email", [a.transaction_id for a in batch], "claimed"),
        )
        wh.commit()
        summary.alerts_sent += sent
    return summary
