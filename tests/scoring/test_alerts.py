"""The alert publisher's child process against the emulator's SNS (alerts land in the tap queue)."""

from __future__ import annotations

import json
import uuid
from collections import Counter

import pytest

from fraudstack.aws import client
from fraudstack.errors import FraudstackError
from fraudstack.provisioning.declaration import declare
from fraudstack.provisioning.local import deploy
from fraudstack.scoring.alert_publisher import AlertPublisher
from fraudstack.settings import Settings
from tests.scoring.conftest import alert_ids
from tests.support import wait_until


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


def _delivered_until(settings: Settings, last: str) -> Counter[str]:
    """How many times each transaction's alert reached the tap queue, read until ``last``'s has.

    With one publisher worker, SNS (the emulator delivers to SQS within the publish call) hands
    the alerts over in order, so everything published before ``last`` is in the queue by then.
    """
    sqs = client("sqs", settings)
    url = sqs.get_queue_url(QueueName=settings.alerts_tap_queue)["QueueUrl"]
    seen: Counter[str] = Counter()

    def read() -> bool:
        answer = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
        for message in answer.get("Messages", []):
            body = json.loads(message["Body"])["Message"]
            if body.startswith("{"):  # the other tests' alerts here carry a plain "body"
                seen[json.loads(body)["transaction_id"]] += 1
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        return last in seen

    wait_until(read, 60, f"the alert of {last} in the tap queue")
    return seen


def test_alerts_replayed_after_a_restart_are_not_sent_again(topic: Settings) -> None:
    """A restarted scorer replays what it had not committed: those alerts must not go out twice."""
    tag = uuid.uuid4().hex[:8]
    before = [f"tx-once-{tag}-{n}" for n in range(12)]
    first = AlertPublisher(topic, workers=1)
    try:
        for tid in before:
            first.publish(tid, "subject", json.dumps({"transaction_id": tid}), "decline")
        assert first.wait_for(len(before), timeout=60)
    finally:
        first.close()
    # The publisher died between its claim and SNS's answer for one alert: that one goes again.
    in_doubt = f"tx-doubt-{tag}"
    client("s3", topic).put_object(
        Bucket=topic.artifacts_bucket or topic.bucket,
        Key=f"{topic.scorer_state_prefix}alerts-sent/{in_doubt}",
        Body=b"claimed",
    )
    after = [f"tx-new-{tag}-{n}" for n in range(3)]
    second = AlertPublisher(topic, workers=1)  # the restarted scorer's publisher
    try:
        replay = [*before, in_doubt, *after]
        seqs = [second.publish(t, "subject", json.dumps({"transaction_id": t}), "decline") for t in replay]
        assert second.wait_for(seqs[-1], timeout=60)  # replays are confirmed, so offsets can commit
    finally:
        second.close()
    seen = _delivered_until(topic, after[-1])
    assert {tid: seen[tid] for tid in [*before, in_doubt, *after]} == dict.fromkeys(
        [*before, in_doubt, *after], 1
    )
