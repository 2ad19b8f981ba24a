"""Send each fraud alert once: claim in the warehouse, publish to SNS, e-mail through SES, record.

The guarantee, and why it holds
-------------------------------
*Never twice from concurrent or repeated runs.* A run claims under ``LOCK fraud_alerts``:
it inserts a row into ``fraud_alerts`` for each transaction that has none yet, tagged with
the run's own token, and commits **before** anything is sent. Concurrent runs take the lock
one after the other, so each transaction gets exactly one row, and only the run whose token
it carries sends. A later run sees the row and skips it. (No ``ON CONFLICT``, ``RETURNING``
or row locks: Redshift has none of them, and the same SQL runs on both engines.)

*Never lost.* A claim is a lease: a row still ``claimed`` after ``lease_seconds`` (the
invocation crashed or timed out between claim and ``sent``) is taken over by the next run
(under the same lock, so again exactly one run takes it) and sent then.
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

*A poison pill does not block the rest.* Every claim or takeover counts an attempt
(``attempts``). An alert whose content breaks it (its row cannot be made into an alert, its
message or e-mail cannot be rendered, SNS rejects it as invalid) is recorded ``failed`` with
``last_error`` - the run goes on with the others - and the next run retries it; once
``max_attempts`` runs have tried, it is ``dead_lettered`` instead, counted (metric
``PoisonPills``) and never tried again. A claim whose run keeps dying with it (a crash, a
timeout) is dead-lettered the same way when a takeover finds its attempts spent. Neither
resends what is recorded as sent: a dead letter is still at most one alert. A failure of
SNS, SES or the warehouse themselves is not the alert's fault: the run hands its claims
back uncounted (``failed``, attempts as before) and stops with the error.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg2
from botocore.exceptions import ClientError

from fraudstack.alerts.content import Alert, Email, parse_reasons, render_email
from fraudstack.errors import FraudstackError
from fraudstack.observability import MetricsPublisher
from fraudstack.settings import Settings
from fraudstack.warehouse import Warehouse
from fraudstack.warehouse.connection import secret_params
from fraudstack.warehouse.dialect import lock_table

#: Decisions that alert: the inference job (and the streaming scorer) decide ``review`` at the
#: model's own threshold and ``decline`` above a higher one; ``approve`` never alerts.
ALERT_DECISIONS = ("review", "decline")
#: Alerts above this many in one run go out as one digest e-mail instead of one each.
DIGEST_AFTER = 3
#: SES takes at most 50 recipients per message.
_MAX_RECIPIENTS = 50
#: Runs that may try an alert before it is dead-lettered.
MAX_ATTEMPTS = 3
#: Characters of an error kept in ``last_error`` (VARCHAR(1024): bytes on Redshift, 4 a character).
_MAX_ERROR_TEXT = 250
#: What SNS answers for a message it will never take, however often it is sent.
_REJECTED_BY_SNS = frozenset({"InvalidParameter", "InvalidParameterValue"})

log = logging.getLogger(__name__)

#: The latest prediction of each transaction, when its decision alerts, its score reaches
#: ``min_score`` and no alert row exists yet. Parameters: decisions (a tuple), min_score.
_CANDIDATES = """
SELECT l.transaction_id, l.model_version
FROM (
    SELECT transaction_id, model_version, score, decision,
           ROW_NUMBER() OVER (PARTITION BY transaction_id ORDER BY scored_at DESC, model_version DESC) AS rn
    FROM fraud_predictions
) AS l
WHERE l.rn = 1 AND l.decision IN %s AND l.score >= %s
  AND NOT EXISTS (SELECT 1 FROM fraud_alerts AS a WHERE a.transaction_id = l.transaction_id)
"""

#: New claims, under the table lock (so no other run inserts the same transaction between
#: the NOT EXISTS and the insert). Parameters: now, token, decisions, min_score, limit.
_CLAIM = f"""
INSERT INTO fraud_alerts (transaction_id, model_version, status, attempts, claimed_at, claim_token)
SELECT c.transaction_id, c.model_version, 'claimed', 1, %s, %s
FROM ({_CANDIDATES}) AS c
ORDER BY c.transaction_id
LIMIT %s
"""

#: Expired claims whose runs died with them ``max_attempts`` times. Parameters: error, token,
#: lease cut-off, max.
_GIVE_UP = """
UPDATE fraud_alerts SET status = 'dead_lettered', last_error = %s, claim_token = %s
WHERE status = 'claimed' AND claimed_at < %s AND attempts >= %s
"""

#: Failed alerts and expired claims (their invocation died), with attempts left, under the
#: table lock so exactly one run takes each. Parameters: now, token, lease cut-off, max, limit.
_TAKE_OVER = """
UPDATE fraud_alerts SET status = 'claimed', claimed_at = %s, claim_token = %s, attempts = attempts + 1
WHERE alert_id IN (
    SELECT alert_id FROM fraud_alerts
    WHERE (status = 'failed' OR status = 'claimed' AND claimed_at < %s) AND attempts < %s
    ORDER BY alert_id
    LIMIT %s
)
"""

#: This run's rows in one status, by its token. Parameters: token, status.
_HELD = (
    "SELECT transaction_id FROM fraud_alerts WHERE claim_token = %s AND status = %s ORDER BY transaction_id"
)

_RETRY_COUNT = """
SELECT count(*) FROM fraud_alerts
WHERE status = 'failed' OR status = 'claimed' AND claimed_at < %s
"""

#: An attempt failed because of the alert: retry it next run, or give up. Parameters: max, error, id.
_FAIL = """
UPDATE fraud_alerts
SET status = CASE WHEN attempts >= %s THEN 'dead_lettered' ELSE 'failed' END, last_error = %s
WHERE transaction_id = %s AND status = 'claimed'
"""

#: The run failed for a reason not the alerts': release its claims, the attempt not counted.
_HAND_BACK = """
UPDATE fraud_alerts SET status = 'failed', attempts = attempts - 1, last_error = %s
WHERE transaction_id IN %s AND status = 'claimed'
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
WHERE a.transaction_id IN %s
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
    max_attempts: int = MAX_ATTEMPTS


@dataclass
class DispatchSummary:
    """What a send run did; the Lambda returns it (small: counts only)."""

    claimed: int = 0
    taken_over: int = 0
    published: int = 0
    emails: int = 0
    alerts_sent: int = 0
    failed: int = 0  # to be retried by the next run
    dead_lettered: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def connect_from_secret(settings: Settings) -> Warehouse:
    """The warehouse from the Secrets Manager secret (the Lambda has no other credentials)."""
    params = secret_params(settings)
    try:
        conn = psycopg2.connect(connect_timeout=10, application_name="fraudstack-alerts", **params)
    except psycopg2.OperationalError as exc:
        raise FraudstackError(f"cannot connect to the warehouse from the alert handler: {exc}") from exc
    return Warehouse(conn, settings)


def pending(wh: Warehouse, config: DispatchConfig) -> int:
    """Alerts a send run would handle now: new candidates, failed alerts and expired claims."""
    candidates = (ALERT_DECISIONS, config.min_score)
    new = wh.query(f"SELECT count(*) FROM ({_CANDIDATES}) AS c", candidates)[0][0]
    retries = wh.query(_RETRY_COUNT, (_lease_cutoff(config),))[0][0]
    wh.commit()
    return int(new) + int(retries)


def claim(wh: Warehouse, config: DispatchConfig) -> tuple[list[str], list[str], list[str]]:
    """Claim new candidates, take over failed alerts and expired claims, and dead-letter expired
    claims with no attempt left; (claimed, taken over, dead-lettered), committed before anything
    is sent.

    One transaction under ``LOCK fraud_alerts``: concurrent runs claim one after the other, so
    each row is claimed by exactly one of them without unique-key enforcement or row locks
    (Redshift has neither). The run tags what it claims with a fresh token and reads its rows
    back by it. Times are the application's clock (``claimed_at`` is set here, not by the
    database), so the lease compares like with like on both engines.
    """
    token = uuid.uuid4().hex
    now = datetime.now(UTC)
    cutoff = _lease_cutoff(config, now)
    wh.execute(lock_table(wh.dialect, "fraud_alerts"))
    error = f"{config.max_attempts} runs ended without finishing it (crashed or timed out)"
    wh.execute(_GIVE_UP, (error, token, cutoff, config.max_attempts))
    given_up = _held(wh, token, "dead_lettered")
    wh.execute(_TAKE_OVER, (now, token, cutoff, config.max_attempts, config.max_alerts))
    taken = _held(wh, token, "claimed")
    room = max(config.max_alerts - len(taken), 0)
    claimed: list[str] = []
    if room:
        wh.execute(_CLAIM, (now, token, ALERT_DECISIONS, config.min_score, room))
        already = set(taken)
        claimed = [t for t in _held(wh, token, "claimed") if t not in already]
    wh.commit()
    return claimed, taken, given_up


def _held(wh: Warehouse, token: str, status: str) -> list[str]:
    return [str(r[0]) for r in wh.query(_HELD, (token, status))]


def _lease_cutoff(config: DispatchConfig, now: datetime | None = None) -> datetime:
    """Claims made before this are expired: their run is presumed dead."""
    return (now or datetime.now(UTC)) - timedelta(seconds=config.lease_seconds)


@dataclass
class _Ready:
    """A claimed alert with everything it sends rendered up front, so that a render error
    fails this alert alone, before anything of it went out."""

    alert: Alert
    published: bool  # already published to SNS by an earlier attempt
    request: dict[str, Any]  # the SNS Publish arguments
    email: Email  # the alert's own e-mail (digests are rendered when sending)


def _alert(row: Sequence[Any], config: DispatchConfig) -> Alert:
    return Alert(
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
    )


def _prepare(
    wh: Warehouse,
    ids: Sequence[str],
    config: DispatchConfig,
    summary: DispatchSummary,
    metrics: MetricsPublisher | None,
) -> list[_Ready]:
    """Each claimed alert made ready to send; those whose content fails are recorded as failed."""
    rows = wh.query(_DETAILS, (tuple(ids),)) if ids else []
    wh.commit()
    ready: list[_Ready] = []
    for row in rows:
        try:
            alert = _alert(row, config)
            ready.append(
                _Ready(alert, row[14] == "sns", _request(alert, config.topic_arn), render_email([alert]))
            )
        except Exception as exc:
            _failed(wh, str(row[0]), exc, config, summary, metrics)
    for missing in sorted(set(ids) - {str(row[0]) for row in rows}):
        error = LookupError(
            "the transaction, its prediction or a dimension row is missing from the warehouse"
        )
        _failed(wh, missing, error, config, summary, metrics)
    return ready


def _failed(
    wh: Warehouse,
    transaction_id: str,
    exc: Exception,
    config: DispatchConfig,
    summary: DispatchSummary,
    metrics: MetricsPublisher | None,
) -> None:
    """Record an attempt that failed because of the alert: ``failed``, or ``dead_lettered`` once
    its attempts are spent (counted as a poison pill)."""
    error = _error_text(exc)
    wh.execute(_FAIL, (config.max_attempts, error, transaction_id))
    rows = wh.query("SELECT status FROM fraud_alerts WHERE transaction_id = %s", (transaction_id,))
    wh.commit()
    status = rows[0][0] if rows else None
    log.warning("alert failed", extra={"transaction_id": transaction_id, "error": error, "status": status})
    if status == "dead_lettered":
        summary.dead_lettered += 1
        if metrics is not None:
            metrics.count("PoisonPills")
    elif status == "failed":
        summary.failed += 1


def _error_text(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}"
    return text if len(text) <= _MAX_ERROR_TEXT else text[: _MAX_ERROR_TEXT - 3] + "..."


def _hand_back(wh: Warehouse, ids: Sequence[str], exc: BaseException) -> None:
    """Release the run's unfinished claims uncounted after a failure that is not theirs.

    Best effort: when the warehouse itself failed this fails too, and the claims wait for
    their lease to expire (a takeover then counts the attempt).
    """
    if not ids:
        return
    try:
        wh.rollback()
        wh.execute(_HAND_BACK, (_error_text(exc), tuple(ids)))
        wh.commit()
    except psycopg2.Error as release_error:
        log.warning("could not hand the claims back", extra={"error": str(release_error)})


def _request(alert: Alert, topic_arn: str) -> dict[str, Any]:
    """The SNS Publish arguments for an alert."""
    attributes = {
        "idempotency_key": {"DataType": "String", "StringValue": alert.idempotency_key},
        "transaction_id": {"DataType": "String", "StringValue": alert.transaction_id},
        "fraud_type_guess": {"DataType": "String", "StringValue": alert.fraud_type_guess},
        "score": {"DataType": "Number", "StringValue": f"{alert.score:.4f}"},
    }
    extra: dict[str, str] = {}
    if topic_arn.endswith(".fifo"):  # SNS itself drops a repeat within its 5-minute window
        extra = {"MessageDeduplicationId": alert.idempotency_key, "MessageGroupId": alert.card_token}
    return {
        "TopicArn": topic_arn,
        "Subject": alert.subject(),
        "Message": json.dumps(alert.as_message(), sort_keys=True),
        "MessageAttributes": attributes,
        **extra,
    }


def _emails(ready: list[_Ready]) -> list[tuple[Email, list[Alert]]]:
    """One e-mail per alert when few arrive; one digest when many.

    A digest that fails to render although each alert rendered alone is no alert's fault:
    its alerts go out one e-mail each instead.
    """
    if len(ready) > DIGEST_AFTER:
        alerts = [r.alert for r in ready]
        try:
            return [(render_email(alerts), alerts)]
        except Exception as exc:
            log.warning(
                "digest e-mail failed to render; sending one e-mail per alert", extra={"error": str(exc)}
            )
    return [(r.email, [r.alert]) for r in ready]


def send(
    wh: Warehouse, sns: Any, ses: Any, config: DispatchConfig, metrics: MetricsPublisher | None = None
) -> DispatchSummary:
    """Claim, publish, e-mail and record every pending alert (up to ``max_alerts``)."""
    claimed, taken, given_up = claim(wh, config)
    summary = DispatchSummary(claimed=len(claimed), taken_over=len(taken), dead_lettered=len(given_up))
    if given_up:
        log.warning("alerts dead-lettered: their runs kept dying", extra={"transaction_ids": given_up})
        if metrics is not None:
            metrics.count("PoisonPills", len(given_up))
    held = [*claimed, *taken]
    try:
        _deliver(wh, sns, ses, config, _prepare(wh, held, config, summary, metrics), summary, metrics)
    except Exception as exc:
        _hand_back(wh, held, exc)
        raise
    return summary


def _deliver(
    wh: Warehouse,
    sns: Any,
    ses: Any,
    config: DispatchConfig,
    ready: list[_Ready],
    summary: DispatchSummary,
    metrics: MetricsPublisher | None,
) -> None:
    """Publish (what is not yet published), e-mail and record the ready alerts."""
    rejected: set[str] = set()
    for item in ready:
        if item.published:
            continue  # a takeover of a run that died after publishing: do not publish again
        try:
            message_id = str(sns.publish(**item.request)["MessageId"])
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") not in _REJECTED_BY_SNS:
                raise
            _failed(wh, item.alert.transaction_id, exc, config, summary, metrics)
            rejected.add(item.alert.transaction_id)
            continue
        wh.execute(
            "UPDATE fraud_alerts SET channel = %s, message_id = %s WHERE transaction_id = %s AND status = %s",
            ("sns", message_id, item.alert.transaction_id, "claimed"),
        )
        wh.commit()
        summary.published += 1
    for email, batch in _emails([r for r in ready if r.alert.transaction_id not in rejected]):
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
            "UPDATE fraud_alerts SET status = %s, sent_at = %s, channel = %s "
            "WHERE transaction_id IN %s AND status = %s",
            ("sent", datetime.now(UTC), "sns+email", tuple(a.transaction_id for a in batch), "claimed"),
        )
        wh.commit()
        summary.alerts_sent += sent
