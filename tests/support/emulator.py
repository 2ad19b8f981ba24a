"""Helpers for tests that drive the AWS emulator's APIs directly (tests/localaws)."""

from __future__ import annotations

import io
import uuid
import zipfile
from collections.abc import Callable
from typing import Any

#: The ``aws`` fixture: ``aws("s3")`` is a boto3 client on the emulator.
Aws = Callable[[str], Any]


def unique(prefix: str) -> str:
    """A resource name no other test uses."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def upload(aws: Aws, bucket: str, key: str, body: bytes) -> str:
    aws("s3").put_object(Bucket=bucket, Key=key, Body=body)
    return f"s3://{bucket}/{key}"


def create_job(aws: Aws, role: str, script: str, arguments: dict[str, str]) -> str:
    name = unique("job")
    aws("glue").create_job(
        Name=name,
        Role=role,
        Command={"Name": "glueetl", "ScriptLocation": script, "PythonVersion": "3"},
        DefaultArguments=arguments,
        GlueVersion="5.0",
    )
    return name


def zip_of(files: dict[str, str]) -> bytes:
    """A deployment package holding ``files``."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return buffer.getvalue()


def make_pipeline(
    aws: Aws,
    bucket: str,
    shards: int,
    size_mb: int,
    interval_s: int,
    gzip_: bool,
    names: tuple[str, str] | None = None,
) -> tuple[str, str]:
    """A Kinesis stream and a delivery stream reading it into ``bucket`` under ``raw/``.

    With ``names`` (stream, delivery stream), the stream exists already: only the delivery
    stream is created, as ``deploy`` does after an emulator restart.
    """
    stream, delivery = names or (unique("tx"), unique("raw-delivery"))
    kinesis = aws("kinesis")
    if names is None:
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
