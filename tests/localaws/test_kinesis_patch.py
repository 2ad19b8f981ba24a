"""The Kinesis shard-index patch: same answers as moto 5.2.5, without its O(records) scans.

The patch (``kinesis-*`` in :mod:`fraudstack.localaws.patches`) only changes how moto finds
records, so each test compares with moto itself: the emulator (patched) against unpatched
moto in a fresh interpreter running the same scenario, and, in-process, each patched
method against the original it wraps, on the edge cases the HTTP API cannot reach.
"""

from __future__ import annotations

import inspect
import json
import os
import subprocess
import sys
from collections import OrderedDict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from fraudstack.localaws import patches
from fraudstack.localaws.glue_runner import GlueRunner
from fraudstack.localaws.kinesis_store import KinesisStore
from fraudstack.localaws.lambda_runtime import LambdaRuntime
from fraudstack.localaws.s3_store import S3Store
from tests.support import wait_until
from tests.support.emulator import Aws, unique
from tests.support.kinesis import iterator, put_numbered, read_pages, scenario, shards
from tests.support.stack import RunningStack

REPO = Path(__file__).resolve().parents[2]
#: The shard index patches (``kinesis-durable-*``, the on-disk log, has test_kinesis_durable.py).
KINESIS_PATCHES = {
    t.patch
    for t in patches.TARGETS
    if t.patch.startswith("kinesis-") and not t.patch.startswith("kinesis-durable-")
}


# --- one scenario (tests.support.kinesis), run on the emulator and on unpatched moto ------------
_UNPATCHED = """
import json, sys
import boto3
from moto import mock_aws
from moto.kinesis.models import Shard
from tests.support.kinesis import scenario

assert not hasattr(Shard.put_record, "_fraudstack_patch"), "baseline must be unpatched moto"
with mock_aws():
    kinesis = boto3.client(
        "kinesis", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    print(json.dumps(scenario(kinesis, sys.argv[1])))
"""


def test_emulator_answers_like_unpatched_moto(aws: Aws) -> None:
    stream = unique("kpatch")
    patched = scenario(aws("kinesis"), stream)
    # the session exports AWS_ENDPOINT_URL (the emulator); the baseline must stay in-process
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_ENDPOINT_URL")}
    run = subprocess.run(
        [sys.executable, "-c", _UNPATCHED, stream],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    unpatched = json.loads(run.stdout)
    assert patched.keys() == unpatched.keys()
    for key in patched:
        assert patched[key] == unpatched[key], key

    # and the answers are the ones Kinesis gives: numbers increase, every record read once, in order
    numbers = [int(n) for n in patched["numbers"]]
    assert numbers == sorted(numbers) and len(set(numbers)) == len(numbers) == 41
    everything = [f"r{i}" for i in range(40)] + ["single"]
    for limit in (None, 4, 500):
        pages = patched[f"trim_horizon_{limit}"]
        assert [d for _, data in pages for d in data] == everything
        if limit:
            assert all(len(seqs) <= limit for seqs, _ in pages)
    assert [d for _, data in patched["latest_before"] for d in data] == everything
    assert patched["latest_after"] == [[[], []]]
    assert patched["at_10"][0][1][0] == "r10" and patched["after_10"][0][1][0] == "r11"
    assert patched["after_40"] == [[[], []]]
    assert [d for _, data in patched["at_old_timestamp"] for d in data] == everything
    assert patched["at_future_timestamp"] == [[[], []]]
    assert len(patched["split_shards"]) == 3 and len(patched["merged_shards"]) == 4


def test_at_timestamp_and_millis_behind_latest(aws: Aws) -> None:
    kinesis, stream = aws("kinesis"), unique("kpatch-ts")
    kinesis.create_stream(StreamName=stream, ShardCount=1)
    shard = shards(kinesis, stream)[0]["ShardId"]
    put_numbered(kinesis, stream, 0, 5)
    # A timestamp strictly between r4's arrival and r5's: poll the clock past each, no fixed sleep.
    r4 = kinesis.get_records(ShardIterator=iterator(kinesis, stream, shard, "TRIM_HORIZON"))["Records"][-1]
    gap = timedelta(milliseconds=50)
    between = wait_until(
        lambda: (now := datetime.now(UTC)) > r4["ApproximateArrivalTimestamp"] + gap and now, 10, "r4 past"
    )
    wait_until(lambda: datetime.now(UTC) > between + gap, 10, "the clock past the chosen timestamp")
    put_numbered(kinesis, stream, 5, 5)

    pages = read_pages(kinesis, iterator(kinesis, stream, shard, "AT_TIMESTAMP", Timestamp=between))
    assert [d for _, data in pages for d in data] == [f"r{i}" for i in range(5, 10)]

    everything = kinesis.get_records(ShardIterator=iterator(kinesis, stream, shard, "TRIM_HORIZON"))[
        "Records"
    ]
    arrival = {r["Data"]: r["ApproximateArrivalTimestamp"] for r in everything}
    first = kinesis.get_records(ShardIterator=iterator(kinesis, stream, shard, "TRIM_HORIZON"), Limit=5)
    assert [r["Data"] for r in first["Records"]] == [f"r{i}".encode() for i in range(5)]
    # How far the last record returned (r4) is behind the newest (r9), as their arrivals say.
    behind_ms = (arrival[b"r9"] - arrival[b"r4"]).total_seconds() * 1000
    assert behind_ms >= 100 and first["MillisBehindLatest"] == pytest.approx(behind_ms, abs=2)
    rest = kinesis.get_records(ShardIterator=first["NextShardIterator"], Limit=5)
    assert len(rest["Records"]) == 5 and rest["MillisBehindLatest"] == 0


def test_the_emulator_applied_the_kinesis_patches(stack: RunningStack) -> None:
    assert stack.embedded is not None  # skips on the compose target: its server logs elsewhere
    log = (stack.state_dir / "logs" / "aws.log").read_text()
    lines = [line for line in log.splitlines() if "moto patches applied" in line]
    assert lines, "the emulator logged no 'moto patches applied' line"
    assert set(lines[-1].split("applied: ", 1)[1].split(", ")) >= KINESIS_PATCHES


# --- in-process: each patched method against the moto original it wraps ----------------------------
@pytest.fixture(scope="module")
def shard_class(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """moto's Shard with every patch applied in this process (as the emulator does)."""
    work = tmp_path_factory.mktemp("kinesis-patch")
    patches.apply(
        LambdaRuntime(work / "lambda", "http://127.0.0.1:1"),
        GlueRunner(work / "glue", "http://127.0.0.1:1", "us-east-1", s3_client=None),
        S3Store(work / "s3"),
        KinesisStore(work / "kinesis"),
    )
    from moto.kinesis.models import Shard

    expected = {"kinesis-put-record", "kinesis-get-records", "kinesis-sequence-at"}
    assert expected | {"kinesis-min-sequence", "kinesis-max-sequence"} == KINESIS_PATCHES
    assert all(patches.applied(t) for t in patches.TARGETS if t.patch in KINESIS_PATCHES)
    return Shard


def _same_as_original(shard: Any) -> None:
    """Every read of ``shard`` answers exactly as moto's original methods do."""
    cls = type(shard)
    original_get = inspect.unwrap(cls.get_records)
    assert original_get is not cls.get_records
    assert shard.get_min_sequence_number() == inspect.unwrap(cls.get_min_sequence_number)(shard)
    assert shard.get_max_sequence_number() == inspect.unwrap(cls.get_max_sequence_number)(shard)
    top = max(shard.records, default=0)
    for last in {-1, 0, 1, 2, top // 2, top - 1, top, top + 5}:
        for limit in (None, -1, 0, 1, 3, 10_000, 2.0):
            got = shard.get_records(str(last), limit)
            want = original_get(shard, str(last), limit)
            assert got[1:] == want[1:], (last, limit)
            assert all(r is w for r, w in zip(got[0], want[0], strict=True)), (last, limit)


def test_patched_methods_match_the_originals(shard_class: Any) -> None:
    shard = shard_class(0, 0, 2**128 - 1)
    _same_as_original(shard)  # empty
    numbers = [shard.put_record(f"k{i}", "ZGF0YQ==", "") for i in range(40)]
    assert numbers == [str(i) for i in range(1, 41)]
    _same_as_original(shard)

    shard.records = OrderedDict()  # what SplitShard does to the parent: the index must notice
    assert shard.get_max_sequence_number() == 0 and shard.put_record("k", "ZGF0YQ==", "") == "1"
    _same_as_original(shard)

    first = next(iter(shard.records.values()))
    shard.records[0] = first  # stored out of order behind the patch's back: moto's code takes over
    _same_as_original(shard)
    assert shard.put_record("k", "ZGF0YQ==", "") == "1"  # moto's "last inserted + 1", quirk kept
    _same_as_original(shard)
