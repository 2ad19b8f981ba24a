"""A failing inference job: the execution takes the failure branch, tells ops, alerts nobody."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from fraudstack.pipeline import StateEvent, run_pipeline
from fraudstack.provisioning.local import deploy
from fraudstack.settings import Settings
from fraudstack.warehouse import Warehouse
from tests.pipeline.seed import delete_seeded, seed_flagged
from tests.support.deployment import declaration, drain, emails_sent

#: Spark job runs under the local Glue runner: minutes each on a loaded 2-core machine.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


@pytest.fixture
def failing_inference(deployed: Settings) -> Iterator[Settings]:
    deploy(deployed, declaration(deployed, inference_fails=True))
    yield deployed
    deploy(deployed, declaration(deployed))


def test_failed_inference_notifies_ops_and_sends_no_alert(
    failing_inference: Settings, warehouse: Warehouse
) -> None:
    settings = failing_inference
    # Scored and flagged, not yet alerted: a run that fails before alerting must leave them so.
    ids = seed_flagged(warehouse, f"fail{uuid.uuid4().hex[:6]}", 4)
    try:
        drain(settings, settings.ops_tap_queue)
        drain(settings, settings.alerts_tap_queue)
        before = emails_sent(settings)
        events: list[StateEvent] = []

        run = run_pipeline(settings, events.append, timeout_seconds=600)

        assert run.status == "FAILED" and run.error == "PipelineFailed"
        entered = [e.state for e in events if e.kind == "entered"]
        assert entered == ["RunDataCleaningJob", "RunMLInferenceJob", "NotifyFailure", "PipelineFailed"]
        failed = [e for e in events if e.kind == "failed"]
        assert failed and failed[0].state == "RunMLInferenceJob"

        (notification,) = drain(settings, settings.ops_tap_queue)
        assert notification["Subject"] == "fraudstack pipeline failed"
        assert notification["Message"].startswith(f"fraudstack pipeline execution {run.name} failed: ")
        assert "inference failed on purpose" in notification["Message"]

        assert drain(settings, settings.alerts_tap_queue) == []
        assert emails_sent(settings) == before
        claimed = warehouse.query("SELECT count(*) FROM fraud_alerts WHERE transaction_id = ANY(%s)", (ids,))
        warehouse.commit()
        assert claimed == [(0,)], "no partial alerts"
    finally:
        delete_seeded(warehouse, ids)
