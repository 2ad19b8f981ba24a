"""Lambda ``alert_handler.handler`` (python3.11): check for, or send, pending fraud alerts.

Events (the state machine sends both):

* ``{"action": "check"}`` -> ``{"pending": N}``: alerts a send would handle now
  (``CheckForNewFraud``; read-only).
* ``{"action": "send"}`` -> ``{"claimed", "taken_over", "published", "emails", "alerts_sent",
  "failed", "dead_lettered"}`` (``SendAlerts``); see :mod:`fraudstack.alerts.dispatch` for
  the exactly-once guarantee and what becomes of an alert that cannot be sent.

Which predictions alert: the latest one of each transaction whose decision is ``review`` or
``decline`` (the model's own threshold, as the inference job decides). Optional keys:
``min_score`` (a stricter score floor; default none), ``max_alerts`` (default
:data:`DEFAULT_MAX_ALERTS`, bounded so a run fits the function timeout). An event that is
not such an object fails at once with a :class:`MalformedEvent` naming what is wrong
(before any connection is made), not with whatever error its value would cause further in.

Dead-lettered alerts are counted in CloudWatch (``PoisonPills``, dimension
``Service=alerts``), published when the invocation ends.

Configuration is the one settings object, fed by the function's environment
(``FRAUDSTACK_*``); warehouse credentials come from the Secrets Manager secret it names.
The topic ARN is derived from the function's own ARN (same partition, region, account),
and the claim lease from the function timeout, so neither needs a setting.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fraudstack.alerts.dispatch import DispatchConfig, connect_from_secret, pending, send
from fraudstack.aws import client
from fraudstack.identity import Identity
from fraudstack.observability import MetricsPublisher
from fraudstack.settings import Settings, load_settings

DEFAULT_MIN_SCORE = 0.0
DEFAULT_MAX_ALERTS = 500
#: A claim outlives its invocation by this factor of the timeout before another run takes it over.
LEASE_FACTOR = 5


class MalformedEvent(ValueError):
    """The invocation's event is not one this handler takes (the message says what is wrong)."""


@dataclass(frozen=True)
class _Request:
    """An event's fields once checked, so nothing further in reads the raw event."""

    action: str
    min_score: float
    max_alerts: int


def _parse(event: Any) -> _Request:
    """The event's fields, checked; :class:`MalformedEvent` for anything else."""
    if not isinstance(event, dict):
        raise MalformedEvent(f"the event must be a JSON object, got {type(event).__name__}")
    action = event.get("action", "send")
    if action not in {"check", "send"}:
        raise MalformedEvent(f"unknown action {action!r}: expected 'check' or 'send'")
    min_score = event.get("min_score", DEFAULT_MIN_SCORE)
    if isinstance(min_score, bool) or not isinstance(min_score, int | float) or not 0 <= min_score <= 1:
        raise MalformedEvent(f"min_score must be a number from 0 to 1, got {min_score!r}")
    max_alerts = event.get("max_alerts", DEFAULT_MAX_ALERTS)
    if isinstance(max_alerts, bool) or not isinstance(max_alerts, int) or max_alerts < 1:
        raise MalformedEvent(f"max_alerts must be a whole number of at least 1, got {max_alerts!r}")
    return _Request(action, float(min_score), max_alerts)


def _config(settings: Settings, request: _Request, context: Any) -> DispatchConfig:
    return DispatchConfig(
        min_score=request.min_score,
        lease_seconds=LEASE_FACTOR * max(1, context.get_remaining_time_in_millis() // 1000),
        max_alerts=request.max_alerts,
        topic_arn=Identity.from_arn(context.invoked_function_arn).topic_arn(settings.sns_topic),
        sender=settings.alert_sender,
        recipients=tuple(settings.alert_recipients),
        dashboard_url=settings.dashboard_link,
    )


def handler(event: Any, context: Any) -> dict[str, Any]:
    """Check or send, per ``event["action"]``; returns a small JSON summary."""
    request = _parse(event)
    settings = load_settings()
    config = _config(settings, request, context)
    with connect_from_secret(settings) as wh:
        if request.action == "check":
            return {"action": "check", "pending": pending(wh, config)}
        metrics = MetricsPublisher(settings, "alerts")
        try:
            summary = send(wh, client("sns", settings), client("ses", settings), config, metrics)
        finally:
            metrics.close()  # publishes what was counted, even when the run failed
    print(f"alert run: {summary.as_dict()}", flush=True)
    return {"action": "send", **summary.as_dict()}
