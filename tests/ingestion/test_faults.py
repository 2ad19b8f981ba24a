"""Crashes mid-stream lose nothing: a SIGKILLed bridge, and a killed broker with durable storage.

Duplicates are allowed (at-least-once; the ETL dedupes on ``transaction_id``) and reported.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from fraudstack.embedded.process import ManagedServer
from fraudstack.embedded.servers import broker_spec
from fraudstack.kafka.topics import ensure_topics
from tests.ingestion.conftest import BackgroundProducer, Pipeline, make_events, wait_for_log
from tests.support import free_port, restart_after_kill, wait_until
from tests.support.stack import stop_process


def test_bridge_sigkill_and_restart_loses_nothing(pipeline: Pipeline) -> None:
    settings = pipeline.settings
    ensure_topics(settings, [settings.topic_transactions, settings.topic_dead_letter])
    events = make_events(12_000, "kill")
    expected = {e["transaction_id"] for e in events}
    first = pipeline.start_bridge("bridge-1")
    try:
        wait_for_log(pipeline, "partitions assigned", timeout=30, name="bridge-1")
        producer = BackgroundProducer(settings, events, rate=3000)
        before_restart = len(wait_until(pipeline.lake_ids, 60, "the first records in the lake"))
    finally:
        first.kill()  # SIGKILL: no flush, no commit, no leaving the group
        first.wait()
    assert 0 < before_restart < len(expected), f"kill was not mid-stream ({before_restart} in the lake)"

    second = pipeline.start_bridge("bridge-2")
    try:
        summary = producer.result(timeout=60)
        assert (summary.sent, summary.failed) == (len(events), 0), summary.errors
        seen = pipeline.wait_for_lake(expected, timeout=60)
    finally:
        assert stop_process(second) == 0, pipeline.bridge_log("bridge-2")
    duplicates = sum(seen.values()) - len(seen)
    print(f"\nbridge SIGKILL after {before_restart} in the lake: all there, duplicates={duplicates}")
    assert set(seen) == expected


@pytest.fixture
def durable_broker(pipeline: Pipeline, tmp_path: Path) -> Iterator[tuple[Pipeline, ManagedServer]]:
    """A second broker storing in the emulator's S3 (survives kill -9), used by this pipeline."""
    port = free_port()
    settings = pipeline.settings.model_copy(
        update={
            "kafka_port": port,
            "kafka_bootstrap_servers": f"127.0.0.1:{port}",
            "kafka_storage": "s3",
            "kafka_storage_bucket": f"kafka-{uuid.uuid4().hex[:8]}",
        }
    )
    broker = ManagedServer(broker_spec(settings), tmp_path / "durable-broker")
    broker.spawn()
    try:
        broker.wait_healthy()
        yield Pipeline(settings=settings, log_dir=pipeline.log_dir), broker
    finally:
        broker.stop()


def test_broker_kill_and_restart_loses_nothing(durable_broker: tuple[Pipeline, ManagedServer]) -> None:
    pipeline, broker = durable_broker
    settings = pipeline.settings
    ensure_topics(settings, [settings.topic_transactions, settings.topic_dead_letter])
    events = make_events(8_000, "broker")
    expected = {e["transaction_id"] for e in events}
    bridge = pipeline.start_bridge()
    try:
        wait_for_log(pipeline, "partitions assigned", timeout=30)
        producer = BackgroundProducer(settings, events, rate=2000)
        wait_until(pipeline.lake_ids, 60, "the first records in the lake")
        restart_after_kill(broker)

        summary = producer.result(timeout=120)
        assert (summary.sent, summary.failed) == (len(events), 0), summary.errors
        seen = pipeline.wait_for_lake(expected, timeout=90)
        assert bridge.poll() is None, "the bridge must ride out a broker restart"
    finally:
        code = stop_process(bridge)
    assert code == 0, pipeline.bridge_log()
    duplicates = sum(seen.values()) - len(seen)
    print(f"\nbroker kill -9 + restart: all {len(expected)} in the lake, duplicates={duplicates}")
    assert set(seen) == expected
