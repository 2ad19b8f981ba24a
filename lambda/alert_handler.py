"""Lambda ``alert_handler.handler`` (python3.11): check for, or send, pending fraud alerts.

Events (the state machine sends both):

* ``{"action": "check"}`` -> ``{"pending": N}``: alerts a send would handle now
  (``CheckForNewFraud``; read-only).
* ``{"action": "send"}`` -> ``{"claimed", "taken_over", "published", "emails", "alerts_sent"}``
  (``SendAlerts``); see :mod:`fraudstack.alerts.dispatch` for the exactly-once guarantee.

Which predictions alert: the latest one of each transaction whose decision is ``review`` or
``decline`` (the model's own threshold, as the inference job decides). Optional keys:
``min_score`` (a stricter score floor; default none), ``max_alerts`` (default
:data:`DEFAULT_MAX_ALERTS`, bounded so a run fits the function timeout).

Configuration is the one settings object, fed by the function's environment
(``FRAUDSTACK_*``); warehouse credentials come from the Secrets Manager secret it names.
The topic ARN is derived from the function's own ARN (same partition, region, account),
and the claim lease from the function timeout, so neither needs a setting.
"""

from __future__ import annotations

from typing import Any

from fraudstack.alerts.dispatch import DispatchConfig, connect_from_secret, pending, send
from fraudstack.aws import client
from fraudstack.settings import Settings, load_settings

DEFAULT_MIN_SCORE = 0.0
DEFAULT_MAX_ALERTS = 500
#: A claim outlives its invocation by this factor of the timeout before another run takes it over.
LEASE_FACTOR = 5


def _config(settings: Settings, event: dict[str, Any], context: Any) -> DispatchConfig:
    _, partition, _, region, account, *_ = context.invoked_function_arn.split(":")
    return DispatchConfig(
        min_score=float(event.get("min_score", DEFAULT_MIN_SCORE)),
        lease_seconds=LEASE_FACTOR * max(1, context.get_remaining_time_in_millis() // 1000),
        max_alerts=int(event.get("max_alerts", DEFAULT_MAX_ALERTS)),
        topic_arn=f"arn:{partition}:sns:{region}:{account}:{settings.sns_topic}",
        sender=settings.alert_sender,
        recipients=tuple(settings.alert_recipients),
        dashboard_url=f"http://localhost:{settings.dashboard_port}/",
    )


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Check or send, per ``event["action"]``; returns a small JSON summary."""
    action = event.get("action", "send")
    if action not in {"check", "send"}:
        raise ValueError(f"unknown action {action!r}: expected 'check' or 'send'")
    settings = load_settings()
    config = _config(settings, event, context)
    with connect_from_secret(settings) as wh:
        if action == "check":
            return {"action": "check", "pending": pending(wh, config)}
        summary = send(wh, client("sns", settings), client("ses", settings), config)
    print(f"alert run: {summary.as_dict()}", flush=True)
    return {"action": "send", **summary.as_dict()}
