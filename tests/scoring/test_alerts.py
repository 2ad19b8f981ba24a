"""The alert publisher's child process against the emulator's SNS (alerts land in the tap queue)."""

from __future__ import annotations

import json
import uuid

import pytest

from fraudstack.errors import FraudstackError
from fraudstack.provisioning.declaration import declare
from fraudstack.provisioning.local import deploy
from fraudstack.scoring.alerts import AlertPublisher
from fraudstack.settings import Settings
from tests.scoring.conftest import alert_ids


@pytest.fixture(scope="module")
def topic(scoring_base: Settings) -> Settings:
    """An alerts topic and tap queue of these tests' own: the scorer tests count what theirs hold."""
    tag = uuid.uuid4().hex[:8]
    settings = scoring_base.model_copy(
        update={"sns_topic": f"alerts-pub-{tag}", "alerts_tap_queue": f"alerts-tap-pub-{tag}"}
    )
    deploy(settings, [r for r in declare(settings) if r.kind in {"sqs-queue", "sns-topic"}])
    return settings


def test_alerts_are_published_and_confirmed_in_order(topic: Settings) -> None:
    publisher = AlertPublisher(topic, workers=2)
    try:
        ids = [f"tx-alert-{uuid.uuid4().hex[:12]}" for _ in range(25)]
        # The body's last line is the decision record, as the scorer's alert_message writes it.
        seqs = [publisher.publish(i, "subject", json.dumps({"transaction_id": i}), "decline") for i in ids]
        assert seqs == list(range(1, 26))
        assert publisher.wait_for(25, timeout=60)
        assert publisher.published == 25
        assert set(ids) <= alert_ids(topic, expected=25)
    finally:
        publisher.close()


def test_alerts_queued_together_share_an_sns_call(topic: Settings) -> None:
    """Alerts arriving within the linger go out in PublishBatch calls of up to ten."""
    publisher = AlertPublisher(topic, workers=1, linger=0.5)
    try:
        ids = [f"tx-batch-{uuid.uuid4().hex[:12]}" for _ in range(25)]
        seqs = [publisher.publish(i, "subject", json.dumps({"transaction_id": i}), "review") for i in ids]
        assert publisher.wait_for(seqs[-1], timeout=60)
        assert publisher.batches == 3  # 10 + 10 + 5, not 25 calls
        assert set(ids) <= alert_ids(topic, expected=25)
    finally:
        publisher.close()


def test_a_dead_publisher_process_stops_the_scorer_instead_of_losing_alerts(topic: Settings) -> None:
    publisher = AlertPublisher(topic, workers=1)
    try:
        first = publisher.publish("tx-before-kill", "subject", "body", "review")
        assert publisher.wait_for(first, timeout=60)
        publisher._process.kill()
        publisher._process.join(10)
        # Nothing is confirmed any more, so the scorer cannot commit past new alerts...
        assert not publisher.wait_for(first + 1, timeout=5)
        # ...and the next alert fails loudly rather than vanishing.
        with pytest.raises(FraudstackError, match="alert publisher stopped"):
            publisher.publish("tx-after-kill", "subject", "body", "review")
    finally:
        publisher.close(timeout=1)
