"""Local state outlives the processes: the emulator's S3 after kill -9, and ``stack reset``.

Each test runs its own servers (free ports, a temporary state directory) through the stack's
own process management, because it kills or removes them.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

from boto3.s3.transfer import TransferConfig

from fraudstack import aws
from fraudstack.embedded import EmbeddedStack
from fraudstack.embedded.process import port_is_free
from fraudstack.settings import Settings
from tests.support import restart_after_kill
from tests.support.stack import make_settings, new_state_dir


def _cli(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "fraudstack", "stack", *args],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,  # no TTY, as in CI
        env={**os.environ, **settings.subprocess_env()},
        check=False,
        timeout=180,
    )


def test_s3_objects_survive_kill_9_of_the_emulator() -> None:
    settings = make_settings(new_state_dir("fraudstack-durable-"))
    emulator = EmbeddedStack(settings).servers["aws"]
    emulator.spawn()
    try:
        emulator.wait_healthy()
        s3 = aws.client("s3", settings)
        s3.create_bucket(Bucket="lake")
        s3.create_bucket(Bucket="dropped")
        s3.delete_bucket(Bucket="dropped")
        s3.put_object(
            Bucket="lake", Key="models/v1/manifest.json", Body=b'{"v": 1}', ContentType="application/json"
        )
        s3.put_object(Bucket="lake", Key="raw/a.json", Body=b"first", Metadata={"origin": "test"})
        s3.put_object(Bucket="lake", Key="raw/a.json", Body=b"second", Metadata={"origin": "test"})
        s3.put_object(Bucket="lake", Key="curated/", Body=b"")  # a "directory marker", as s3a writes
        s3.put_object(Bucket="lake", Key="tmp/gone", Body=b"x")
        s3.copy_object(Bucket="lake", Key="tmp/copied", CopySource={"Bucket": "lake", "Key": "raw/a.json"})
        s3.delete_objects(Bucket="lake", Delete={"Objects": [{"Key": "tmp/gone"}]})
        big = os.urandom(6 * 1024 * 1024) * 2  # a multipart upload: what Spark and Tansu send for large files
        s3.upload_fileobj(io.BytesIO(big), "lake", "curated/part-0.parquet", Config=TransferConfig())
        before = {
            obj["Key"]: s3.head_object(Bucket="lake", Key=obj["Key"])
            for obj in s3.list_objects_v2(Bucket="lake")["Contents"]
        }

        restart_after_kill(emulator)

        assert [b["Name"] for b in s3.list_buckets()["Buckets"]] == ["lake"]
        keys = sorted(obj["Key"] for obj in s3.list_objects_v2(Bucket="lake")["Contents"])
        assert (
            keys
            == sorted(before)
            == [
                "curated/",
                "curated/part-0.parquet",
                "models/v1/manifest.json",
                "raw/a.json",
                "tmp/copied",
            ]
        )
        for key, head in before.items():
            again = s3.head_object(Bucket="lake", Key=key)
            for field in ("ETag", "ContentLength", "ContentType", "Metadata", "LastModified"):
                assert again[field] == head[field], (key, field)
        assert s3.get_object(Bucket="lake", Key="raw/a.json")["Body"].read() == b"second"
        assert s3.get_object(Bucket="lake", Key="tmp/copied")["Body"].read() == b"second"
        assert s3.get_object(Bucket="lake", Key="curated/part-0.parquet")["Body"].read() == big
    finally:
        emulator.stop()


def test_reset_needs_a_yes_without_a_tty_then_leaves_nothing() -> None:
    settings = make_settings(new_state_dir("fraudstack-durable-"))
    stack = EmbeddedStack(settings)
    try:
        stack.up()
        aws.client("s3", settings).create_bucket(Bucket="kept-until-reset")

        refused = _cli(settings, "reset")
        assert refused.returncode != 0
        assert len(refused.stderr.strip().splitlines()) == 1, refused.stderr
        assert "--yes" in refused.stderr
        assert stack.status().healthy, "a refused reset leaves the stack alone"

        done = _cli(settings, "reset", "--yes")
        assert done.returncode == 0, done.stderr
        assert not settings.state_path.exists()
        assert all(port_is_free(s.spec.port) for s in stack.servers.values())

        stack.up()  # a clean slate: no buckets, a new empty warehouse
        assert aws.client("s3", settings).list_buckets()["Buckets"] == []
    finally:
        stack.down()


def test_reset_refuses_a_directory_it_did_not_make(tmp_path: Path) -> None:
    (tmp_path / "thesis.tex").write_text("months of work")
    result = _cli(make_settings(tmp_path), "reset", "--yes")
    assert result.returncode != 0
    assert "thesis.tex" in result.stderr
    assert (tmp_path / "thesis.tex").exists()


def test_a_graceful_stop_delivers_the_firehose_buffers_first() -> None:
    """Kinesis and Firehose buffers are in the emulator's memory: SIGTERM delivers them before exiting."""
    settings = make_settings(new_state_dir("fraudstack-durable-"))
    emulator = EmbeddedStack(settings).servers["aws"]
    emulator.spawn()
    try:
        emulator.wait_healthy()
        s3, kinesis = aws.client("s3", settings), aws.client("kinesis", settings)
        s3.create_bucket(Bucket="lake")
        kinesis.create_stream(StreamName="tx", ShardCount=1)
        stream_arn = kinesis.describe_stream_summary(StreamName="tx")["StreamDescriptionSummary"]["StreamARN"]
        role = "arn:aws:iam::123456789012:role/firehose"
        aws.client("firehose", settings).create_delivery_stream(
            DeliveryStreamName="raw",
            DeliveryStreamType="KinesisStreamAsSource",
            KinesisStreamSourceConfiguration={"KinesisStreamARN": stream_arn, "RoleARN": role},
            ExtendedS3DestinationConfiguration={
                "RoleARN": role,
                "BucketARN": "arn:aws:s3:::lake",
                "Prefix": "raw/",
                "BufferingHints": {"SizeInMBs": 64, "IntervalInSeconds": 900},  # never due by itself
            },
        )
        records = [f'{{"transaction_id": "t{i}"}}'.encode() for i in range(50)]
        kinesis.put_records(StreamName="tx", Records=[{"Data": r, "PartitionKey": "k"} for r in records])
        assert emulator.stop(), "the emulator was not running"
        restart_after_kill(emulator)  # nothing left to kill: starts it again on the same state
        s3 = aws.client("s3", settings)
        keys = [o["Key"] for o in s3.list_objects_v2(Bucket="lake", Prefix="raw/").get("Contents", [])]
        lines = [
            line for key in keys for line in s3.get_object(Bucket="lake", Key=key)["Body"].read().splitlines()
        ]
        assert sorted(lines) == sorted(records), "records in Firehose's buffer were lost at stop"
    finally:
        emulator.stop()
