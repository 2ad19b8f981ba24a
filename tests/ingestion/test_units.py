"""Unit tests without servers: Kinesis limits and retries, metric batching, pacing, config."""

from __future__ import annotations

import json
import logging
import threading
from typing import Any

import pytest
from botocore.exceptions import EndpointConnectionError

from fraudstack.ingestion.bridge import _for_kinesis
from fraudstack.ingestion.kinesis import (
    MAX_BYTES_PER_CALL,
    MAX_BYTES_PER_RECORD,
    MAX_RECORDS_PER_CALL,
    KinesisBatch,
    KinesisSink,
    PutAborted,
)
from fraudstack.ingestion.producer import Pacer
from fraudstack.kafka.config import consumer_config, producer_config
from fraudstack.observability import MAX_DATA_PER_CALL, JsonFormatter, MetricsPublisher
from fraudstack.schema import event_to_json_bytes
from fraudstack.settings import load_settings
from tests.ingestion.conftest import make_events


def test_batch_stops_at_500_records() -> None:
    batch = KinesisBatch()
    while batch.fits(b"x", "k"):
        batch.add(b"x", "k")
    assert len(batch) == MAX_RECORDS_PER_CALL and batch.full


def test_batch_stops_at_5_mib_counting_partition_keys() -> None:
    batch = KinesisBatch()
    data = b"x" * (MAX_BYTES_PER_RECORD - 11)
    while batch.fits(data, "card_000001"):
        batch.add(data, "card_000001")
    assert len(batch) == 5 and batch.size <= MAX_BYTES_PER_CALL
    assert batch.size + len(data) + len("card_000001") > MAX_BYTES_PER_CALL


def test_record_over_1_mib_is_refused() -> None:
    with pytest.raises(ValueError, match="exceeds the Kinesis limit"):
        KinesisBatch().add(b"x" * MAX_BYTES_PER_RECORD, "k")


class FlakyKinesis:
    """Fails the records at the given positions of each call, following a script of calls."""

    def __init__(self, failures: list[set[int] | Exception]) -> None:
        self.failures = failures
        self.calls: list[list[bytes]] = []

    def put_records(self, StreamName: str, Records: list[dict[str, Any]]) -> dict[str, Any]:
        self.calls.append([r["Data"] for r in Records])
        failing = self.failures.pop(0) if self.failures else set()
        if isinstance(failing, Exception):
            raise failing
        results = [
            {"ErrorCode": "ProvisionedThroughputExceededException", "ErrorMessage": "slow down"}
            if i in failing
            else {"SequenceNumber": "1", "ShardId": "shardId-0"}
            for i in range(len(Records))
        ]
        return {"FailedRecordCount": len(failing), "Records": results}


def _entries(n: int) -> list[dict[str, Any]]:
    return [{"Data": f"r{i}".encode(), "PartitionKey": "k"} for i in range(n)]


def test_partial_failure_retries_only_the_failed_records() -> None:
    kinesis = FlakyKinesis([{1, 3}, EndpointConnectionError(endpoint_url="http://x"), {0}])
    metrics = MetricsPublisher(load_settings(metrics_enabled=False), "test")
    attempts = KinesisSink(kinesis, "s", metrics=metrics, base_backoff=0.001).put(_entries(5))
    assert attempts == 4
    assert kinesis.calls == [
        [b"r0", b"r1", b"r2", b"r3", b"r4"],
        [b"r1", b"r3"],
        [b"r1", b"r3"],  # a call that failed as a whole is retried with the same records
        [b"r1"],
    ]
    assert metrics.totals == {"FailedRecords": 3, "PutRecordsErrors": 1}


def test_put_gives_up_after_the_grace_period_once_stopping() -> None:
    stop = threading.Event()
    stop.set()
    sink = KinesisSink(FlakyKinesis([{0}] * 1000), "s", base_backoff=0.001, max_backoff=0.01, grace=0.1)
    with pytest.raises(PutAborted):
        sink.put(_entries(1), stop)


def test_kinesis_data_is_the_original_line_and_multiline_records_are_flattened() -> None:
    event = make_events(1, "u")[0]
    wire = event_to_json_bytes(event)
    assert _for_kinesis(b"  " + wire + b"\n") == (wire + b"\n", event["card_id"])
    outcome = _for_kinesis(json.dumps(json.loads(wire), indent=2).encode())
    assert isinstance(outcome, tuple)
    assert outcome[0].count(b"\n") == 1 and json.loads(outcome[0]) == json.loads(wire)
    assert _for_kinesis(None) == "empty record (no value)"
    assert str(_for_kinesis(b"{")).startswith("not valid JSON")


class RecordingCloudWatch:
    def __init__(self) -> None:
        self.calls: list[list[dict[str, Any]]] = []

    def put_metric_data(self, Namespace: str, MetricData: list[dict[str, Any]]) -> None:
        self.calls.append(MetricData)


def test_metrics_are_aggregated_per_window_and_sent_in_batches_of_1000() -> None:
    cloudwatch = RecordingCloudWatch()
    metrics = MetricsPublisher(load_settings(), "test", cloudwatch=cloudwatch)
    for _ in range(10_000):
        metrics.count("RecordsOut")
    metrics.observe_many("Latency", [1.0, 3.0, 2.0])
    metrics.observe("Latency", 10.0, weight=3)
    metrics.flush()
    assert len(cloudwatch.calls) == 1
    data = {d["MetricName"]: d for d in cloudwatch.calls[0]}
    assert data["RecordsOut"]["Value"] == 10_000
    assert data["Latency"]["StatisticValues"] == {
        "SampleCount": 6,
        "Sum": 36.0,
        "Minimum": 1.0,
        "Maximum": 10.0,
    }

    for i in range(MAX_DATA_PER_CALL + 5):
        metrics.count(f"m{i}")
    metrics.flush()
    assert [len(call) for call in cloudwatch.calls[1:]] == [MAX_DATA_PER_CALL, 5]
    metrics.flush()
    assert len(cloudwatch.calls) == 3, "an empty window sends nothing"


def test_json_log_lines_carry_extra_fields() -> None:
    record = logging.makeLogRecord(
        {"msg": "batch %s", "args": ("done",), "levelname": "INFO", "records": 500}
    )
    line = json.loads(JsonFormatter("bridge").format(record))
    assert (line["msg"], line["records"], line["service"], line["level"]) == (
        "batch done",
        500,
        "bridge",
        "info",
    )


def test_pacer_holds_the_rate() -> None:
    """On a clock that only idling advances, item i is released at i / rate, never before."""
    now = [100.0]
    released: list[float] = []

    def idle(seconds: float) -> None:
        now[0] += seconds

    pacer = Pacer(rate=2000, idle=idle, clock=lambda: now[0])
    for _ in range(500):
        pacer.wait()
        released.append(now[0] - 100.0)
    assert all(at >= i / 2000 for i, at in enumerate(released))
    assert released[-1] == pytest.approx(499 / 2000, abs=0.0011)  # no drift: at most one idle late


def test_pacer_never_asks_for_a_wait_a_broker_client_would_round_to_zero() -> None:
    # librdkafka's poll(0.0004) returns at once: a pacer asking for it would spin a core.
    now = [100.0]
    waits: list[float] = []

    def idle(seconds: float) -> None:
        waits.append(seconds)
        now[0] += seconds

    pacer = Pacer(rate=2000, idle=idle, clock=lambda: now[0])
    for _ in range(200):
        pacer.wait()
    assert waits and min(waits) >= 0.001


def test_delivery_guarantees_in_client_configs() -> None:
    settings = load_settings()
    producer = producer_config(settings)
    assert producer["enable.idempotence"] is True and producer["acks"] == "all"
    durable_embedded = producer_config(load_settings(kafka_storage="s3"))
    assert durable_embedded["enable.idempotence"] is False
    assert durable_embedded["max.in.flight.requests.per.connection"] == 1
    forced = producer_config(load_settings(kafka_storage="s3", kafka_idempotent_producer=True))
    assert forced["enable.idempotence"] is True
    consumer = consumer_config(settings, "g")
    assert consumer["enable.auto.commit"] is False and consumer["enable.auto.offset.store"] is False
