"""``produce_events`` sends again what a broker on S3 storage failed while the emulator was down.

Servers of its own (free ports, a temporary state directory): the test kills the emulator
that the broker stores in, which would take the session's Firehose and queues with it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from fraudstack.embedded import EmbeddedStack
from fraudstack.embedded.process import ManagedServer
from fraudstack.ingestion.producer import ProduceSummary, produce_events
from fraudstack.kafka.topics import ensure_topics
from fraudstack.settings import Settings
from tests.ingestion.conftest import make_events
from tests.support import restart_after_kill, wait_until
from tests.support.stack import make_settings, new_state_dir


@pytest.fixture
def s3_broker() -> Iterator[tuple[Settings, ManagedServer]]:
    """(settings, emulator) of a broker on S3 storage in an emulator of this test's own."""
    settings = make_settings(new_state_dir("fraudstack-resend-"), kafka_storage="s3")
    stack = EmbeddedStack(settings)
    emulator, broker = stack.servers["aws"], stack.servers["kafka"]
    try:
        for server in (emulator, broker):
            server.spawn()
            server.wait_healthy()
        yield settings, emulator
    finally:
        broker.stop()
        emulator.stop()


def test_records_failed_while_the_emulator_restarts_are_sent_again(
    s3_broker: tuple[Settings, ManagedServer],
) -> None:
    settings, emulator = s3_broker
    ensure_topics(settings, [settings.topic_transactions])
    events = make_events(12_000, "resend")
    progress: list[ProduceSummary] = []
    result: list[ProduceSummary] = []
    thread = threading.Thread(
        target=lambda: result.append(
            produce_events(settings, events, rate=1000, on_progress=progress.append)
        ),
        daemon=True,
    )
    thread.start()
    wait_until(lambda: progress and progress[-1].sent, 60, "the first acknowledged records")

    # Down until the broker has failed records and the producer has sent some again.
    emulator.kill()
    wait_until(lambda: progress[-1].resent, 120, "a record sent again while the emulator is down")
    restart_after_kill(emulator)

    thread.join(timeout=600)
    assert result, "the producer is still running"
    summary = result[0]
    print(
        f"\nemulator down mid-run: sent {summary.sent}, failed {summary.failed}, sent again {summary.resent}"
    )
    assert (summary.sent, summary.failed) == (len(events), 0), summary.errors
    assert summary.resent > 0
