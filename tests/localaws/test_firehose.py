"""Firehose delivers a Kinesis source into S3 only when its buffer fills or its interval passes."""

from __future__ import annotations

import gzip
import json
import os
import re
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from moto import mock_aws

from fraudstack.localaws.firehose_delivery import FirehoseDelivery
from tests.support import wait_until
from tests.support.emulator import Aws, make_pipeline, put

_KEY = re.compile(
    r"^raw/(\d{4})/(\d{2})/(\d{2})/(\d{2})/(.+)-1-(\d{4}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2})-[0-9a-f-]{36}(\.gz)?$"
)


@pytest.fixture
def in_process_aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Aws]:
    """moto in this process with a bucket ``lake``: no server thread delivers, ``step()`` is driven
    by hand with its own clock, so time itself is what the test sets."""
    for name in [n for n in os.environ if n.startswith(("AWS_ENDPOINT_URL", "AWS_PROFILE"))]:
        monkeypatch.delenv(name)
    keys = {"region_name": "us-east-1", "aws_access_key_id": "x", "aws_secret_access_key": "x"}
    with mock_aws():
        aws: Aws = lambda service: boto3.client(service, **keys)  # noqa: E731
        aws("s3").create_bucket(Bucket="lake")
        yield aws


def delivered(aws: Aws, bucket: str, prefix: str = "raw/") -> list[dict[str, Any]]:
    answer = aws("s3").list_objects_v2(Bucket=bucket, Prefix=prefix)
    return list(answer.get("Contents", []))


def update_destination(aws: Aws, delivery: str, interval_s: int) -> None:
    """UpdateDestination of a live stream: new interval, ``fresh/`` prefixes, GZIP."""
    firehose = aws("firehose")
    description = firehose.describe_delivery_stream(DeliveryStreamName=delivery)["DeliveryStreamDescription"]
    firehose.update_destination(
        DeliveryStreamName=delivery,
        CurrentDeliveryStreamVersionId=description["VersionId"],
        DestinationId=description["Destinations"][0]["DestinationId"],
        ExtendedS3DestinationUpdate={
            "Prefix": "fresh/",
            "ErrorOutputPrefix": "fresh-errors/",
            "BufferingHints": {"SizeInMBs": 1, "IntervalInSeconds": interval_s},
            "CompressionFormat": "GZIP",
        },
    )


def assert_delivered_under_update(aws: Aws, bucket: str, delivery: str, records: list[bytes]) -> None:
    """Every record in one GZIP object under the updated prefix, keyed with version 2."""
    objects = delivered(aws, bucket, "fresh/")
    assert len(objects) == 1, objects
    key = objects[0]["Key"]
    assert f"/{delivery}-2-" in key and key.endswith(".gz"), key
    body = aws("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
    assert gzip.decompress(body) == b"".join(r + b"\n" for r in records)
    assert delivered(aws, bucket, "raw/") == []


def test_interval_flush_gzip_all_shards(aws: Aws, bucket: str) -> None:
    """The emulator's own loop delivers both shards' records, GZIP, keyed by arrival hour, once each."""
    stream, delivery = make_pipeline(aws, bucket, shards=2, size_mb=5, interval_s=3, gzip_=True)
    events = [json.dumps({"transaction_id": f"t{i}", "amount": i}).encode() for i in range(200)]
    events[7] += b"\n"  # already newline-terminated: no second newline
    before = datetime.now(UTC)

    put(aws, stream, events)

    def bodies() -> list[bytes]:
        out = []
        for obj in delivered(aws, bucket):
            match = _KEY.match(obj["Key"])
            assert match, obj["Key"]
            assert match.group(5) == delivery and match.group(7) == ".gz"
            hour = datetime(*(int(match.group(g)) for g in range(1, 5)), tzinfo=UTC)
            assert before.replace(minute=0, second=0, microsecond=0) <= hour <= datetime.now(UTC)
            out.append(gzip.decompress(aws("s3").get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()))
        return out

    # Each shard's records may arrive in an object of their own: wait for all of them.
    delivered_bodies = wait_until(
        lambda: (found := bodies()) and sum(len(b.splitlines()) for b in found) >= len(events) and found,
        30,
        "every record delivered",
    )
    assert all(body.endswith(b"\n") for body in delivered_bodies)
    lines = [line for body in delivered_bodies for line in body.splitlines()]
    assert sorted(lines) == sorted(e.rstrip(b"\n") for e in events)  # each record exactly once


def test_a_buffer_waits_for_its_interval(in_process_aws: Aws) -> None:
    """Records read at t wait until t + IntervalInSeconds, not a moment less (a clock driven by hand)."""
    aws = in_process_aws
    stream, _ = make_pipeline(aws, "lake", shards=2, size_mb=5, interval_s=3, gzip_=True)
    firehose = FirehoseDelivery(aws("firehose"), aws("kinesis"), aws("s3"))
    now = time.monotonic()
    firehose.step(now)  # discovered
    records = [f"r{i}".encode() for i in range(20)]
    put(aws, stream, records)
    assert firehose.step(now + 1) is True  # read: the interval starts now
    assert firehose.step(now + 3.9) is True and delivered(aws, "lake") == [], "flushed before the interval"
    assert firehose.step(now + 4) is False  # 3 s since the first record: sealed and sent
    [obj] = delivered(aws, "lake")
    body = gzip.decompress(aws("s3").get_object(Bucket="lake", Key=obj["Key"])["Body"].read())
    assert sorted(body.splitlines()) == sorted(records)


def test_size_flush_before_interval(in_process_aws: Aws) -> None:
    """A buffer that reaches SizeInMBs goes out at once, long before a 900 s interval."""
    aws = in_process_aws
    stream, _ = make_pipeline(aws, "lake", shards=1, size_mb=1, interval_s=900, gzip_=False)
    firehose = FirehoseDelivery(aws("firehose"), aws("kinesis"), aws("s3"))
    now = time.monotonic()
    firehose.step(now)  # discovered
    record = b"x" * 10_000

    put(aws, stream, [record] * 50)  # 0.5 MB: below the size, far from the interval
    assert firehose.step(now + 1) is True and delivered(aws, "lake") == []
    put(aws, stream, [record] * 60)  # now 1.1 MB: over 1 MB
    firehose.step(now + 2)  # read, full: sealed and sent in the same round

    [obj] = delivered(aws, "lake")
    body = aws("s3").get_object(Bucket="lake", Key=obj["Key"])["Body"].read()
    assert body == (record + b"\n") * 110


def test_update_destination_takes_effect_on_a_live_stream(aws: Aws, bucket: str) -> None:
    """A 900 s buffer changed to 1 s through the API flushes at once under the new prefix."""
    stream, delivery = make_pipeline(aws, bucket, shards=1, size_mb=5, interval_s=900, gzip_=False)
    records = [json.dumps({"transaction_id": f"u{i}"}).encode() for i in range(20)]
    put(aws, stream, records)

    update_destination(aws, delivery, interval_s=1)
    # 60 s is a hang guard only: the old interval was 900 s.
    wait_until(lambda: delivered(aws, bucket, "fresh/"), 60, "the updated buffer interval applied")
    assert_delivered_under_update(aws, bucket, delivery, records)


class _Stop(threading.Event):
    """A stop event that records each wait and stops after ``rounds`` of them."""

    def __init__(self, rounds: int) -> None:
        super().__init__()
        self.waits: list[float] = []
        self._rounds = rounds

    def wait(self, timeout: float | None = None) -> bool:
        assert timeout is not None
        self.waits.append(timeout)
        if len(self.waits) >= self._rounds:
            self.set()
        return self.is_set()


def test_polling_backs_off_while_every_source_is_quiet(monkeypatch: pytest.MonkeyPatch) -> None:
    """Idle rounds double the wait up to ``idle_poll_s``; a round with records resets it."""
    busy = iter([False, False, False, False, True, False, RuntimeError("moto hiccup"), False])

    def step(_now: float) -> bool:
        outcome = next(busy)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    delivery = FirehoseDelivery(firehose=None, kinesis=None, s3=None, poll_s=0.2, idle_poll_s=1.0)
    monkeypatch.setattr(delivery, "step", step)
    stop = _Stop(rounds=8)
    delivery.run(stop)
    assert stop.waits == pytest.approx([0.4, 0.8, 1.0, 1.0, 0.2, 0.4, 0.2, 0.4])


def test_a_round_is_busy_while_records_flow_or_wait(in_process_aws: Aws) -> None:
    """step() is True when it read records and while they wait in the buffer, False once sent."""
    aws = in_process_aws
    stream, _ = make_pipeline(aws, "lake", shards=1, size_mb=1, interval_s=900, gzip_=False)
    delivery = FirehoseDelivery(aws("firehose"), aws("kinesis"), aws("s3"))
    now = time.monotonic()
    assert delivery.step(now) is False  # discovered, nothing to read
    put(aws, stream, [b"a", b"b"])
    assert delivery.step(now + 1) is True  # read two records
    assert delivery.step(now + 2) is True  # nothing new, but two wait for the interval
    assert delivery.step(now + 901) is False  # the interval passed: sealed and sent
    assert len(delivered(aws, "lake")) == 1


def test_records_buffered_before_an_update_are_sealed_under_the_new_hints(in_process_aws: Aws) -> None:
    """Records read under a 900 s interval are sent once the stream is re-described with 3 s."""
    aws = in_process_aws
    stream, delivery = make_pipeline(aws, "lake", shards=1, size_mb=5, interval_s=900, gzip_=False)
    firehose = FirehoseDelivery(aws("firehose"), aws("kinesis"), aws("s3"), describe_s=5.0)
    now = time.monotonic()
    firehose.step(now)  # discovered
    records = [b"a", b"b", b"c"]
    put(aws, stream, records)
    assert firehose.step(now + 1) is True  # read into the 900 s buffer
    assert firehose.step(now + 2) is True and delivered(aws, "lake") == []

    update_destination(aws, delivery, interval_s=3)
    assert firehose.step(now + 6) is False  # re-described: 5 s buffered >= 3 s: sealed and sent
    assert_delivered_under_update(aws, "lake", delivery, records)


def test_drain_delivers_every_buffer_whatever_its_hints(in_process_aws: Aws) -> None:
    """What a graceful emulator stop runs: records waiting on a 900 s interval go out now."""
    aws = in_process_aws
    stream, _ = make_pipeline(aws, "lake", shards=2, size_mb=64, interval_s=900, gzip_=False)
    firehose = FirehoseDelivery(aws("firehose"), aws("kinesis"), aws("s3"))
    firehose.step(time.monotonic())  # discovered
    records = [f"r{i}".encode() for i in range(40)]
    put(aws, stream, records[:20])
    assert firehose.step(time.monotonic()) is True and delivered(aws, "lake") == []  # buffered
    put(aws, stream, records[20:])  # not even read yet
    assert firehose.drain(timeout_s=30) is True
    lines = [
        line
        for obj in delivered(aws, "lake")
        for line in aws("s3").get_object(Bucket="lake", Key=obj["Key"])["Body"].read().splitlines()
    ]
    assert sorted(lines) == sorted(records)
    assert firehose.step(time.monotonic()) is False, "nothing left after the drain"
