"""Poison pills: a record whose processing raises is dead-lettered, and the bridge goes on.

The fault is injected in-process (the bridge runs on a thread here rather than as the usual
subprocess, so ``monkeypatch`` reaches it): the per-record step (validation and transform)
raises for one transaction, a stand-in for a bug that only some record's content triggers.
The broker, Kinesis, Firehose and S3 are real.
"""

from __future__ import annotations

import json
import threading

import pytest

from fraudstack.ingestion import bridge as bridge_module
from fraudstack.ingestion.bridge import Bridge
from fraudstack.ingestion.producer import produce_events
from fraudstack.kafka.dead_letters import POISON_PREFIX
from fraudstack.observability import MetricsPublisher
from tests.ingestion.conftest import Pipeline, make_events
from tests.support.kafka import read_dead_letters


def test_a_record_whose_processing_raises_is_dead_lettered_and_the_rest_flow(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = pipeline.settings
    events = make_events(1000, "pill")
    poison = events[400]["transaction_id"]
    transform = bridge_module._for_kinesis

    def failing_transform(value: bytes | None) -> tuple[bytes, str] | str:
        if value is not None and poison.encode() in value:
            raise RuntimeError("validator bug")
        return transform(value)

    monkeypatch.setattr(bridge_module, "_for_kinesis", failing_transform)

    stop = threading.Event()
    with MetricsPublisher(settings, "bridge", flush_interval=1.0) as metrics:
        bridge = Bridge(settings, metrics=metrics, linger=0.1)
        worker = threading.Thread(target=bridge.run, args=(stop,))
        worker.start()
        try:
            assert produce_events(settings, events).failed == 0
            healthy = {e["transaction_id"] for e in events} - {poison}
            seen = pipeline.wait_for_lake(healthy, timeout=60)
            assert poison not in seen
            assert worker.is_alive(), "the bridge stopped"

            later = make_events(100, "after")
            assert produce_events(settings, later).failed == 0
            pipeline.wait_for_lake({e["transaction_id"] for e in later}, timeout=30)
            assert worker.is_alive(), "the bridge stopped"
        finally:
            stop.set()
            worker.join(30)
    assert not worker.is_alive()

    dead = read_dead_letters(settings, 1, timeout=30)
    assert len(dead) == 1
    ((value, headers),) = dead.values()
    assert value is not None and json.loads(value)["transaction_id"] == poison, "the original bytes"
    assert headers["dlq.reason"].decode() == f"{POISON_PREFIX}RuntimeError: validator bug"
    assert headers["dlq.source.topic"].decode() == settings.topic_transactions
    assert bridge.stats.poison_pills == 1 and bridge.stats.dead_lettered == 1
    assert metrics.totals["PoisonPills"] == 1
