"""Fixtures for the ingestion tests: an isolated pipeline per test on the session stack.

Each test gets its own topics, consumer group, bucket, Kinesis stream and Firehose
delivery stream (deployed with :func:`fraudstack.provisioning.local.deploy` from the one resource
declaration), so tests never see each other's records. The bridge always runs as a real
subprocess (``python -m fraudstack bridge``), as in production.
"""

from __future__ import annotations

import gzip
import subprocess
import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from fraudstack.aws import client
from fraudstack.ingestion.producer import ProduceSummary, produce_events
from fraudstack.provisioning.declaration import declare
from fraudstack.provisioning.local import deploy
from fraudstack.settings import Settings
from tests.support import wait_until
from tests.support.stack import RunningStack, spawn_service

_PIPELINE_KINDS = {"s3-bucket", "kinesis-stream", "iam-role", "firehose-stream"}


def make_events(count: int, tag: str, cards: int = 400) -> list[dict[str, Any]]:
    """``count`` valid events in event-time order with unique ids, spread over ``cards`` cards."""
    start = datetime(2025, 3, 1, tzinfo=UTC)
    events = []
    for i in range(count):
        card = i % cards
        ecom = i % 3 == 0
        events.append(
            {
                "schema_version": 1,
                "transaction_id": f"tx_{tag}_{i:07d}",
                "event_time": start + timedelta(seconds=i),
                "customer_id": f"cus_{card:06d}",
                "customer_account_created": date(2021, 6, 1),
                "card_id": f"card_{card:06d}",
                "card_token": f"tok_{card:024x}",
                "card_type": "debit",
                "issuing_bank": "Northwind Bank",
                "merchant_id": f"mer_{i % 97:06d}",
                "merchant_name": "Corner Grocery",
                "merchant_category_code": "5411",
                "merchant_category": "grocery",
                "merchant_lat": 40.71,
                "merchant_lon": -74.0,
                "amount": round(1 + (i % 5000) / 7, 2),
                "currency": "USD",
                "channel": "ecom" if ecom else "pos",
                "entry_mode": "card_not_present" if ecom else "chip",
                "device_id": f"dev_{card:06d}" if ecom else None,
                "device_os": "android" if ecom else None,
                "ip_address": "203.0.113.9" if ecom else None,
                "ip_is_vpn": False if ecom else None,
                "lat": 40.7,
                "lon": -74.01,
                "city": "New York",
                "country": "US",
                "is_fraud": False,
                "fraud_type": None,
            }
        )
    return events


@dataclass
class Pipeline:
    """One isolated Kafka -> bridge -> Kinesis -> Firehose -> S3 pipeline."""

    settings: Settings
    log_dir: Path

    def start_bridge(self, name: str = "bridge") -> subprocess.Popen[bytes]:
        """``python -m fraudstack bridge`` with this pipeline's settings; stderr to a log file."""
        return spawn_service(
            self.settings,
            self.log_dir / f"{name}.log",
            "bridge",
            "--linger",
            "0.1",
            "--metrics-interval",
            "2",
        )

    def lake_ids(self) -> Counter[str]:
        """How often each transaction_id appears in the lake under ``raw/`` (NDJSON, maybe gzip)."""
        import json

        s3 = client("s3", self.settings)
        seen: Counter[str] = Counter()
        for page in s3.get_paginator("list_objects_v2").paginate(
            Bucket=self.settings.bucket, Prefix=self.settings.raw_prefix
        ):
            for obj in page.get("Contents", []):
                body = s3.get_object(Bucket=self.settings.bucket, Key=obj["Key"])["Body"].read()
                if obj["Key"].endswith(".gz"):
                    body = gzip.decompress(body)
                for line in body.splitlines():
                    seen[json.loads(line)["transaction_id"]] += 1
        return seen

    def wait_for_lake(self, expected: set[str], timeout: float) -> Counter[str]:
        """Poll the lake until every expected id is there (fails with how many are missing)."""
        seen: Counter[str] = Counter()

        def complete() -> bool:
            nonlocal seen
            seen = self.lake_ids()
            return expected <= set(seen)

        def missing() -> str:
            tail = "\n".join(self.bridge_log().splitlines()[-15:])
            return (
                f"{len(expected - set(seen))} of {len(expected)} transactions missing from the lake; "
                f"bridge log:\n{tail}"
            )

        wait_until(complete, timeout, missing, interval=1.0)
        return seen

    def bridge_log(self, name: str = "bridge") -> str:
        path = self.log_dir / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""


@pytest.fixture
def pipeline(stack: RunningStack, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Pipeline]:
    """Fresh topics, group and AWS resources for one test; Firehose buffers for 1 s, or for
    the seconds given by indirect parametrization (``parametrize("pipeline", [15], indirect=True)``).
    """
    tag = uuid.uuid4().hex[:8]
    settings = stack.settings.model_copy(
        update={
            "topic_transactions": f"transactions-{tag}",
            "topic_dead_letter": f"transactions-dlq-{tag}",
            "bridge_group_id": f"bridge-{tag}",
            "kafka_session_timeout_ms": 6000,
            "bucket": f"lake-{tag}",
            "kinesis_stream": f"tx-{tag}",
            "firehose_stream": f"raw-{tag}",
            "firehose_buffer_seconds": getattr(request, "param", 1),
        }
    )
    deploy(settings, [r for r in declare(settings) if r.kind in _PIPELINE_KINDS])
    yield Pipeline(settings=settings, log_dir=tmp_path)
    # Stop the delivery loop reading this stream and free the emulator's memory for later tests.
    client("firehose", settings).delete_delivery_stream(DeliveryStreamName=settings.firehose_stream)
    client("kinesis", settings).delete_stream(
        StreamName=settings.kinesis_stream, EnforceConsumerDeletion=True
    )


class BackgroundProducer:
    """:func:`produce_events` on a thread, so a test can break things while records flow."""

    def __init__(self, settings: Settings, events: list[dict[str, Any]], rate: float | None) -> None:
        self.summary: ProduceSummary | None = None
        self._thread = threading.Thread(target=self._run, args=(settings, events, rate), daemon=True)
        self._thread.start()

    def _run(self, settings: Settings, events: list[dict[str, Any]], rate: float | None) -> None:
        self.summary = produce_events(settings, events, rate=rate)

    def result(self, timeout: float) -> ProduceSummary:
        self._thread.join(timeout)
        assert self.summary is not None, f"producer still running after {timeout}s"
        return self.summary


def wait_for_log(pipeline: Pipeline, text: str, timeout: float, name: str = "bridge") -> None:
    """Wait until the bridge's log contains ``text`` (e.g. its partition assignment)."""
    wait_until(
        lambda: text in pipeline.bridge_log(name),
        timeout,
        lambda: f"no '{text}' in the bridge log:\n{pipeline.bridge_log(name)}",
    )
