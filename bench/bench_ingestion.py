"""Ingestion throughput: the producer into the broker, the bridge into Kinesis.

The bridge's figure is a ratio to the emulator's raw ``PutRecords`` capacity measured in
the same run (sequential calls of 500 records, the same records, the same client), because
the absolute rate of moto's Kinesis depends on the machine and its load; the ratio says how
much the bridge (consume, validate, batch, commit) costs on top of Kinesis itself.
Target: ratio >= 0.8. Raw capacity is measured before and after the bridge and averaged.

Each phase writes to a fresh Kinesis stream, so the phases start from the same state.

    .venv/bin/python bench/bench_ingestion.py [--produce 100000] [--bridge 20000]

Starts its own embedded stack (free ports, temporary state dir) and stops it at the end.
"""

from __future__ import annotations

import argparse
import itertools
import time
from typing import Any

from fraudstack import aws
from fraudstack.ingestion.bridge import Bridge
from fraudstack.ingestion.producer import produce_events
from fraudstack.kafka.topics import ensure_topics
from fraudstack.provisioning.declaration import declare
from fraudstack.provisioning.local import deploy
from fraudstack.schema import event_to_json_bytes
from fraudstack.settings import Settings
from fraudstack.simulator import SimulationConfig, iter_events
from tests.support.stack import ephemeral_stack


class TimedKinesis:
    """A Kinesis client that notes when the first PutRecords started and the last ended."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.exceptions = client.exceptions
        self.first: float | None = None
        self.last = 0.0
        self.records = 0

    def put_records(self, **kwargs: Any) -> Any:
        started = time.perf_counter()
        self.first = self.first or started
        answer = self._client.put_records(**kwargs)
        self.last = time.perf_counter()
        self.records += len(kwargs["Records"]) - int(answer.get("FailedRecordCount", 0))
        return answer

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


def fresh_stream(settings: Settings, name: str) -> Settings:
    """Settings whose Kinesis stream is a new, empty one called ``name``."""
    settings = settings.model_copy(update={"kinesis_stream": name})
    deploy(settings, [r for r in declare(settings) if r.kind == "kinesis-stream"])
    return settings


def raw_put_rate(settings: Settings, payloads: list[tuple[bytes, str]]) -> float:
    """Records/s of back-to-back 500-record PutRecords calls (the emulator's capacity)."""
    kinesis = aws.client("kinesis", settings)
    started = time.perf_counter()
    for start in range(0, len(payloads), 500):
        records = [{"Data": data, "PartitionKey": key} for data, key in payloads[start : start + 500]]
        answer = kinesis.put_records(StreamName=settings.kinesis_stream, Records=records)
        assert answer["FailedRecordCount"] == 0
    return len(payloads) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--produce", type=int, default=100_000, help="records for the producer figure")
    parser.add_argument("--bridge", type=int, default=20_000, help="records for the bridge and raw figures")
    args = parser.parse_args()

    with ephemeral_stack(
        "fraudstack-bench-", kafka_session_timeout_ms=6000, metrics_enabled=False
    ) as running:
        settings = running.settings
        config = SimulationConfig.create(customers=20_000, days=30, seed=1)
        events = list(itertools.islice(iter_events(config), max(args.produce, args.bridge)))

        # 1. Producer -> broker (includes JSON encoding of each event), memory storage.
        producer_topic = "bench-producer"
        ensure_topics(settings, [producer_topic])
        summary = produce_events(settings, events[: args.produce], topic=producer_topic)
        assert summary.failed == 0, summary.errors
        size = sum(len(event_to_json_bytes(e)) for e in events[:1000]) / 1000
        print(
            f"producer: {summary.sent:,} records in {summary.seconds:.2f}s = {summary.rate:,.0f} records/s "
            f"({summary.rate * size / 1e6:.1f} MB/s, avg {size:.0f} B/record; idempotent, acks=all)"
        )

        # 2. Raw PutRecords capacity, the bridge, raw capacity again.
        bridge_events = events[: args.bridge]
        payloads = [(event_to_json_bytes(e) + b"\n", str(e["card_id"])) for e in bridge_events]
        raw_before = raw_put_rate(fresh_stream(settings, "bench-raw-1"), payloads)
        ensure_topics(settings, [settings.topic_transactions, settings.topic_dead_letter])
        assert produce_events(settings, bridge_events).failed == 0
        bridged = fresh_stream(settings, "bench-bridge")
        timed = TimedKinesis(aws.client("kinesis", bridged))
        stats = Bridge(bridged, kinesis=timed).run(exit_when_idle=3.0)
        assert stats.forwarded == args.bridge, stats
        assert timed.first is not None
        bridge_rate = timed.records / (timed.last - timed.first)
        raw_after = raw_put_rate(fresh_stream(settings, "bench-raw-2"), payloads)
        raw = (raw_before + raw_after) / 2
        print(f"raw PutRecords: {raw:,.0f} records/s (before {raw_before:,.0f}, after {raw_after:,.0f})")
        print(
            f"bridge: {stats.forwarded:,} records in {stats.batches} calls, {bridge_rate:,.0f} records/s "
            f"= {bridge_rate / raw:.2f} of raw capacity (target >= 0.8)"
        )


if __name__ == "__main__":
    main()
