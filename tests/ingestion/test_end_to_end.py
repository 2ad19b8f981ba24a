"""Produce -> Kafka -> bridge (subprocess) -> Kinesis -> Firehose -> S3 ``raw/``: nothing lost."""

from __future__ import annotations

import json
import time

from fraudstack.aws import client
from fraudstack.kafka.producer import produce_events
from fraudstack.kafka.topics import ensure_topics
from tests.ingestion.conftest import Pipeline, make_events, stop_process

N = 20_000


def test_every_produced_transaction_lands_in_the_lake(pipeline: Pipeline) -> None:
    settings = pipeline.settings
    ensure_topics(settings, [settings.topic_transactions, settings.topic_dead_letter])
    events = make_events(N, "e2e")
    bridge = pipeline.start_bridge()
    try:
        summary = produce_events(settings, events)
        assert (summary.sent, summary.failed) == (N, 0), summary.errors

        started = time.monotonic()
        seen = pipeline.wait_for_lake({e["transaction_id"] for e in events}, timeout=40)
        duplicates = sum(seen.values()) - len(seen)
        took = time.monotonic() - started
        print(f"\n{N} transactions in the lake {took:.1f}s after produce; duplicates={duplicates}")
        assert set(seen) == {e["transaction_id"] for e in events}, "the lake holds ids nobody produced"
        assert duplicates == 0, "a clean run (no crash) must not duplicate"
        assert bridge.poll() is None, pipeline.bridge_log()
    finally:
        code = stop_process(bridge)
    assert code == 0, pipeline.bridge_log()

    # Graceful stop logged its totals as one JSON line, and metrics reached CloudWatch.
    lines = [json.loads(line) for line in pipeline.bridge_log().splitlines() if line.startswith("{")]
    stopped = next(line for line in lines if line["msg"] == "bridge stopped")
    assert stopped["forwarded"] == N and stopped["dead_lettered"] == 0
    cloudwatch = client("cloudwatch", settings)
    metrics = cloudwatch.list_metrics(
        Namespace=settings.metrics_namespace, Dimensions=[{"Name": "Service", "Value": "bridge"}]
    )
    names = {m["MetricName"] for m in metrics["Metrics"]}
    assert {"RecordsIn", "RecordsOut", "PutRecordsLatency", "EndToEndLatency"} <= names
