"""Alert dispatch and poison pills: an alert that cannot be sent ends dead-lettered, never blocking
the rest and never sent twice; a malformed event gets a clear error.

Dispatch runs in-process here (``send`` with the session's real warehouse, SNS, SES and
CloudWatch), so ``monkeypatch`` can make rendering fail for one transaction - a stand-in for
a row whose content breaks the e-mail. The malformed events go to the deployed Lambda.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from typing import Any

import pytest
from botocore.exceptions import ClientError

from fraudstack.alerts import dispatch
from fraudstack.alerts.content import Alert, Email
from fraudstack.alerts.dispatch import DispatchConfig, send
from fraudstack.aws import client
from fraudstack.identity import pipeline_names
from fraudstack.observability import MetricsPublisher
from fraudstack.settings import Settings
from fraudstack.warehouse import Warehouse
from tests.pipeline.seed import delete_seeded, seed_flagged
from tests.support.deployment import alert_ids, drain, emails_sent


def _config(settings: Settings, **changes: Any) -> DispatchConfig:
    return DispatchConfig(
        **{
            "min_score": 0.0,
            "lease_seconds": 600,
            "max_alerts": 500,
            "topic_arn": client("sns", settings).create_topic(Name=settings.sns_topic)["TopicArn"],
            "sender": settings.alert_sender,
            "recipients": tuple(settings.alert_recipients),
            "dashboard_url": "http://localhost/",
            "max_attempts": 3,
            **changes,
        }
    )


def _rows(wh: Warehouse, ids: list[str]) -> dict[str, tuple[str, int, str | None, str | None]]:
    """transaction_id -> (status, attempts, last_error, channel)."""
    rows = wh.query(
        "SELECT transaction_id, status, attempts, last_error, channel FROM fraud_alerts "
        "WHERE transaction_id = ANY(%s)",
        (ids,),
    )
    wh.commit()
    return {str(r[0]): (str(r[1]), int(r[2]), r[3], r[4]) for r in rows}


def test_an_alert_that_fails_to_render_is_dead_lettered_after_its_attempts(
    deployed: Settings, warehouse: Warehouse, monkeypatch: pytest.MonkeyPatch
) -> None:
    drain(deployed, deployed.alerts_tap_queue)
    ids = seed_flagged(warehouse, f"pill{uuid.uuid4().hex[:6]}", 4)
    poison, healthy = ids[1], [t for t in ids if t != ids[1]]
    render = dispatch.render_email

    def failing_render(alerts: Sequence[Alert]) -> Email:
        if any(a.transaction_id == poison for a in alerts):
            raise ValueError("render bug")
        return render(alerts)

    monkeypatch.setattr(dispatch, "render_email", failing_render)
    config = _config(deployed)
    try:
        sent_before = emails_sent(deployed)
        with MetricsPublisher(deployed, "alerts", flush_interval=60) as metrics:
            first = send(warehouse, client("sns", deployed), client("ses", deployed), config, metrics)
            rows = _rows(warehouse, ids)
            assert {t: rows[t][0] for t in healthy} == dict.fromkeys(healthy, "sent"), "the rest go out"
            assert rows[poison] == ("failed", 1, "ValueError: render bug", None)
            assert first.failed >= 1 and first.dead_lettered == 0
            assert emails_sent(deployed) > sent_before

            second = send(warehouse, client("sns", deployed), client("ses", deployed), config, metrics)
            assert _rows(warehouse, [poison])[poison][:2] == ("failed", 2)
            assert second.taken_over >= 1
            third = send(warehouse, client("sns", deployed), client("ses", deployed), config, metrics)
            assert _rows(warehouse, [poison])[poison] == ("dead_lettered", 3, "ValueError: render bug", None)
            assert third.dead_lettered >= 1
            assert metrics.totals["PoisonPills"] == 1

            # Dead-lettered is final: later runs leave it alone.
            send(warehouse, client("sns", deployed), client("ses", deployed), config, metrics)
            assert _rows(warehouse, [poison])[poison][:2] == ("dead_lettered", 3)

        published = alert_ids(drain(deployed, deployed.alerts_tap_queue))
        assert sorted(t for t in published if t in set(ids)) == sorted(healthy), "each healthy one once"
        names = {
            m["MetricName"]
            for m in client("cloudwatch", deployed).list_metrics(
                Namespace=deployed.metrics_namespace, Dimensions=[{"Name": "Service", "Value": "alerts"}]
            )["Metrics"]
        }
        assert "PoisonPills" in names
    finally:
        delete_seeded(warehouse, ids)


def test_a_claim_whose_runs_keep_dying_is_dead_lettered_by_the_next_takeover(
    deployed: Settings, warehouse: Warehouse
) -> None:
    drain(deployed, deployed.alerts_tap_queue)
    ids = seed_flagged(warehouse, f"dying{uuid.uuid4().hex[:6]}", 2)
    try:
        # Three runs claimed the first one and died with it; the second has attempts left.
        for transaction_id, attempts in zip(ids, (3, 1), strict=True):
            warehouse.execute(
                "INSERT INTO fraud_alerts (transaction_id, model_version, status, claimed_at, attempts) "
                "VALUES (%s, 'seed-test', 'claimed', now() - INTERVAL '1 day', %s)",
                (transaction_id, attempts),
            )
        warehouse.commit()

        summary = send(warehouse, client("sns", deployed), client("ses", deployed), _config(deployed))

        rows = _rows(warehouse, ids)
        assert rows[ids[0]][:2] == ("dead_lettered", 3)
        assert rows[ids[0]][2] is not None and "without finishing" in rows[ids[0]][2]
        assert rows[ids[1]][:2] == ("sent", 2)
        assert summary.dead_lettered >= 1
        published = alert_ids(drain(deployed, deployed.alerts_tap_queue))
        assert [t for t in published if t in set(ids)] == [ids[1]]
    finally:
        delete_seeded(warehouse, ids)


def test_a_failure_of_ses_hands_the_claims_back_uncounted(deployed: Settings, warehouse: Warehouse) -> None:
    """SES refusing the sender is not the alerts' fault: no attempt is spent, nothing published twice."""
    drain(deployed, deployed.alerts_tap_queue)
    ids = seed_flagged(warehouse, f"sesdown{uuid.uuid4().hex[:6]}", 2)
    try:
        unverified = _config(deployed, sender=f"nobody-{uuid.uuid4().hex[:6]}@example.invalid")
        with pytest.raises(ClientError):
            send(warehouse, client("sns", deployed), client("ses", deployed), unverified)
        rows = _rows(warehouse, ids)
        assert {t: rows[t][:2] for t in ids} == dict.fromkeys(ids, ("failed", 0))
        assert all("MessageRejected" in (rows[t][2] or "") for t in ids)

        send(warehouse, client("sns", deployed), client("ses", deployed), _config(deployed))
        assert {t: r[:2] for t, r in _rows(warehouse, ids).items()} == dict.fromkeys(ids, ("sent", 1))
        published = alert_ids(drain(deployed, deployed.alerts_tap_queue))
        assert sorted(t for t in published if t in set(ids)) == sorted(ids), "published once, not again"
    finally:
        delete_seeded(warehouse, ids)


@pytest.mark.parametrize(
    ("event", "complaint"),
    [
        ([1, 2], "must be a JSON object"),
        ({"action": "resend"}, "unknown action 'resend'"),
        ({"action": "send", "max_alerts": "lots"}, "max_alerts must be a whole number"),
        ({"action": "check", "min_score": 7}, "min_score must be a number from 0 to 1"),
    ],
)
def test_a_malformed_event_gets_a_clear_error(deployed: Settings, event: Any, complaint: str) -> None:
    response = client("lambda", deployed).invoke(
        FunctionName=pipeline_names(deployed).alert_function, Payload=json.dumps(event).encode()
    )
    payload = json.loads(response["Payload"].read())
    assert response.get("FunctionError"), payload
    assert payload["errorType"] == "MalformedEvent", payload
    assert complaint in payload["errorMessage"], payload
