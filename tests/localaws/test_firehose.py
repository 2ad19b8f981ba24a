"""Firehose delivers a Kinesis source into S3 only when its buffer fills or its interval passes."""

from __future__ import annotations

import gzip
import json
import re
import time
from datetime import UTC, datetime
from typing import Any

from tests.localaws.conftest import Aws, unique

_KEY = re.compile(
    r"^raw/(\d{4})/(\d{2})/(\d{2})/(\d{2})/(.+)-1-(\d{4}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2})-[0-9a-f-]{36}(\.gz)?$"
)


def make_pipeline(
    aws: Aws, bucket: str, shards: int, size_mb: int, interval_s: int, gzip_: bool
) -> tuple[str, str]:
    """A Kinesis stream and a delivery stream reading it into ``bucket`` under ``raw/``."""
    stream, delivery = unique("tx"), unique("raw-delivery")
    kinesis = aws("kinesis")
    kinesis.create_stream(StreamName=stream, ShardCount=shards)
    stream_arn = kinesis.describe_stream_summary(StreamName=stream)["StreamDescriptionSummary"]["StreamARN"]
    aws("firehose").create_delivery_stream(
        DeliveryStreamName=delivery,
        DeliveryStreamType="KinesisStreamAsSource",
        KinesisStreamSourceConfiguration={
            "KinesisStreamARN": stream_arn,
            "RoleARN": "arn:aws:iam::123456789012:role/x",
        },
        ExtendedS3DestinationConfiguration={
            "RoleARN": "arn:aws:iam::123456789012:role/x",
            "BucketARN": f"arn:aws:s3:::{bucket}",
            "Prefix": "raw/",
            "ErrorOutputPrefix": "errors/",
            "BufferingHints": {"SizeInMBs": size_mb, "IntervalInSeconds": interval_s},
            "CompressionFormat": "GZIP" if gzip_ else "UNCOMPRESSED",
        },
    )
    return stream, delivery


def put(aws: Aws, stream: str, records: list[bytes]) -> None:
    kinesis = aws("kinesis")
    for start in range(0, len(records), 100):
        batch = [
            {"Data": r, "PartitionKey": str(start + i)} for i, r in enumerate(records[start : start + 100])
        ]
        assert kinesis.put_records(StreamName=stream, Records=batch)["FailedRecordCount"] == 0


def delivered(aws: Aws, bucket: str) -> list[dict[str, Any]]:
    answer = aws("s3").list_objects_v2(Bucket=bucket, Prefix="raw/")
    return list(answer.get("Contents", []))


def test_interval_flush_gzip_all_shards(aws: Aws, bucket: str) -> None:
    stream, delivery = make_pipeline(aws, bucket, shards=2, size_mb=5, interval_s=3, gzip_=True)
    events = [json.dumps({"transaction_id": f"t{i}", "amount": i}).encode() for i in range(200)]
    events[7] += b"\n"  # already newline-terminated: no second newline
    before = datetime.now(UTC)

    put(aws, stream, events)
    time.sleep(1.5)
    assert delivered(aws, bucket) == [], "flushed before the buffer interval passed"
    deadline = time.monotonic() + 10
    while not (objects := delivered(aws, bucket)):
        assert time.monotonic() < deadline, "nothing delivered after the buffer interval"
        time.sleep(0.3)
    time.sleep(1)  # a second shard's records may arrive in a second object
    objects = delivered(aws, bucket)

    lines: list[bytes] = []
    for obj in objects:
        match = _KEY.match(obj["Key"])
        assert match, obj["Key"]
        assert match.group(5) == delivery and match.group(7) == ".gz"
        hour = datetime(*(int(match.group(g)) for g in range(1, 5)), tzinfo=UTC)
        assert before.replace(minute=0, second=0, microsecond=0) <= hour <= datetime.now(UTC)
        body = gzip.decompress(aws("s3").get_object(Bucket=bucket, Key=obj["Key"])["Body"].read())
        assert body.endswith(b"\n")
        lines += body.splitlines()
    assert sorted(lines) == sorted(e.rstrip(b"\n") for e in events)  # each record exactly once


def test_size_flush_before_interval(aws: Aws, bucket: str) -> None:
    stream, _ = make_pipeline(aws, bucket, shards=1, size_mb=1, interval_s=900, gzip_=False)
    record = b"x" * 10_000

    put(aws, stream, [record] * 50)  # 0.5 MB: below the size, far from the interval
    time.sleep(2)
    assert delivered(aws, bucket) == []
    put(aws, stream, [record] * 60)  # now 1.1 MB: over 1 MB
    deadline = time.monotonic() + 10
    while not (objects := delivered(aws, bucket)):
        assert time.monotonic() < deadline, "a full buffer was not flushed early"
        time.sleep(0.3)

    assert len(objects) == 1
    body = aws("s3").get_object(Bucket=bucket, Key=objects[0]["Key"])["Body"].read()
    assert body == (record + b"\n") * 110
