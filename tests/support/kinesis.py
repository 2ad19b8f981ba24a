"""One Kinesis scenario and its read helpers, run on the emulator and on unpatched moto.

The scenario is imported by a fresh interpreter (unpatched moto, in-process) as well as by
tests/localaws/test_kinesis_patch.py, which compares the two answers.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any


def read_pages(kinesis: Any, iterator: str | None, limit: int | None = None, calls: int = 200) -> list[Any]:
    """Follow ``iterator`` until a call returns nothing: per call, (sequence numbers, data, at_newest)."""
    pages: list[Any] = []
    for _ in range(calls):
        if iterator is None:
            break
        answer = kinesis.get_records(ShardIterator=iterator, **({"Limit": limit} if limit else {}))
        records = answer["Records"]
        millis = answer["MillisBehindLatest"]
        assert millis >= 0
        pages.append(([r["SequenceNumber"] for r in records], [r["Data"].decode() for r in records]))
        if not records:
            assert millis == 0
            break
        iterator = answer.get("NextShardIterator")
    return pages


def iterator(kinesis: Any, stream: str, shard: str, kind: str, **extra: Any) -> str:
    return str(
        kinesis.get_shard_iterator(StreamName=stream, ShardId=shard, ShardIteratorType=kind, **extra)[
            "ShardIterator"
        ]
    )


def shards(kinesis: Any, stream: str) -> list[dict[str, Any]]:
    return list(kinesis.list_shards(StreamName=stream)["Shards"])


def put_numbered(kinesis: Any, stream: str, first: int, count: int) -> list[str]:
    numbers: list[str] = []
    for start in range(first, first + count, 50):
        batch = [
            {"Data": f"r{i}".encode(), "PartitionKey": f"k{i}"}
            for i in range(start, min(start + 50, first + count))
        ]
        answer = kinesis.put_records(StreamName=stream, Records=batch)
        assert answer["FailedRecordCount"] == 0
        numbers += [r["SequenceNumber"] for r in answer["Records"]]
    return numbers


def scenario(kinesis: Any, stream: str) -> dict[str, Any]:
    """Puts, every deterministic iterator type, Limit variants, split and merge; a JSON summary."""
    out: dict[str, Any] = {}
    kinesis.create_stream(StreamName=stream, ShardCount=1)
    shard = shards(kinesis, stream)[0]["ShardId"]

    def it(kind: str, **extra: Any) -> str:
        """An iterator of the stream's first shard."""
        return iterator(kinesis, stream, shard, kind, **extra)

    out["empty_shards"] = shards(kinesis, stream)
    latest_before = it("LATEST")
    numbers = put_numbered(kinesis, stream, 0, 40)
    single = kinesis.put_record(StreamName=stream, Data=b"single", PartitionKey="k-single")
    numbers.append(single["SequenceNumber"])
    out["numbers"] = numbers
    out["shards"] = shards(kinesis, stream)
    for limit in (None, 4, 500):
        out[f"trim_horizon_{limit}"] = read_pages(kinesis, it("TRIM_HORIZON"), limit)
    out["latest_before"] = read_pages(kinesis, latest_before, 25)
    out["latest_after"] = read_pages(kinesis, it("LATEST"))
    for position in (0, 10, 39, 40):
        at = {"StartingSequenceNumber": numbers[position]}
        out[f"at_{position}"] = read_pages(kinesis, it("AT_SEQUENCE_NUMBER", **at), 25)
        out[f"after_{position}"] = read_pages(kinesis, it("AFTER_SEQUENCE_NUMBER", **at), 25)
    old, future = datetime(2020, 1, 1, tzinfo=UTC), datetime.now(UTC) + timedelta(days=1)
    out["at_old_timestamp"] = read_pages(kinesis, it("AT_TIMESTAMP", Timestamp=old))
    out["at_future_timestamp"] = read_pages(kinesis, it("AT_TIMESTAMP", Timestamp=future))

    kinesis.split_shard(StreamName=stream, ShardToSplit=shard, NewStartingHashKey=str(2**127))
    out["split_numbers"] = put_numbered(kinesis, stream, 1000, 40)
    out["split_shards"] = shards(kinesis, stream)
    for listed in out["split_shards"]:
        sid = listed["ShardId"]
        out[f"split_read_{sid}"] = read_pages(kinesis, iterator(kinesis, stream, sid, "TRIM_HORIZON"), 100)
    children = [s["ShardId"] for s in out["split_shards"] if s.get("ParentShardId") == shard]
    kinesis.merge_shards(StreamName=stream, ShardToMerge=children[0], AdjacentShardToMerge=children[1])
    out["merged_numbers"] = put_numbered(kinesis, stream, 2000, 30)
    out["merged_shards"] = shards(kinesis, stream)
    for listed in out["merged_shards"]:
        sid = listed["ShardId"]
        out[f"merged_read_{sid}"] = read_pages(kinesis, iterator(kinesis, stream, sid, "TRIM_HORIZON"), 100)
    return json.loads(json.dumps(out))  # tuples as lists, as they come back from the subprocess
