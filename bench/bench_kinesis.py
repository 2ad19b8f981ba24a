"""Kinesis on one shard, empty and after it holds 40k records: fraudstack's patch against moto.

moto 5.2.5's ``Shard`` copies all its keys on every put (to find the last sequence number)
and scans from the first record on every GetRecords, so a shard slows down as it fills.
The ``kinesis-*`` patches in :mod:`fraudstack.localaws.patches` keep a sorted index instead.
This prints, for each setup, records/s of ``PutRecords`` and of ``GetRecords`` on an empty
shard and after ``--fill`` records, plus one GetRecords at the tail (the call a consumer that
has caught up, like the Firehose delivery loop, makes over and over).

Setups (each on a fresh one-shard stream):

- ``moto``: moto 5.2.5 in-process (``mock_aws``, no server), unpatched: the baseline;
- ``moto+patch``: the same, after :func:`fraudstack.localaws.patches.apply` (same transport as
  the baseline, so their ratio is the patch alone);
- ``emulator``: ``python -m fraudstack.localaws.server`` (moto server + fraudstack's patches) over
  HTTP: what the pipeline really talks to;
- ``moto-server`` (``--with-moto-server``): plain ``python -m moto.server``, unpatched, over
  HTTP: the emulator's own baseline (slow: its fill runs at the unpatched rate).

Besides wall-clock rates it prints window records (put and read back) per CPU second, this
process plus the server's, because the shared machine's load skews wall time.

    .venv/bin/python bench/bench_kinesis.py [--fill 40000] [--window 5000] [--with-moto-server]
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from tests.support import free_port

_CLK_TCK = os.sysconf("SC_CLK_TCK")
_CLIENT_CONFIG = Config(retries={"max_attempts": 1}, read_timeout=300)


def _cpu_seconds(pid: int | None) -> float:
    """CPU seconds used by this process, plus those of server ``pid`` if given (from /proc)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    total = usage.ru_utime + usage.ru_stime
    if pid is not None:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / _CLK_TCK  # utime, stime
    return total


@dataclass
class Window:
    """One measurement: ``records`` put then read back on a shard that held ``before``."""

    before: int
    records: int
    put_s: float
    get_s: float
    cpu_s: float
    tail_ms: float

    def line(self, setup: str) -> str:
        both = self.records / (self.put_s + self.get_s)
        return (
            f"{setup:<12} {self.before:>7,} {self.records / self.put_s:>10,.0f} "
            f"{self.records / self.get_s:>10,.0f} {both:>10,.0f} {self.records / self.cpu_s:>12,.0f} "
            f"{self.tail_ms:>9.1f}"
        )


class Bench:
    """Puts and reads on one fresh stream through ``kinesis``; ``server_pid`` for CPU accounting."""

    def __init__(self, kinesis: Any, stream: str, payload: bytes, server_pid: int | None) -> None:
        self.kinesis, self.stream, self.payload, self.pid = kinesis, stream, payload, server_pid
        kinesis.create_stream(StreamName=stream, ShardCount=1)
        self.shard = kinesis.list_shards(StreamName=stream)["Shards"][0]["ShardId"]
        self.count = 0

    def put(self, records: int) -> str:
        """Put ``records`` in 500-record calls; the last sequence number."""
        last = ""
        for start in range(0, records, 500):
            batch = [
                {"Data": self.payload, "PartitionKey": str(self.count + i)}
                for i in range(min(500, records - start))
            ]
            answer = self.kinesis.put_records(StreamName=self.stream, Records=batch)
            assert answer["FailedRecordCount"] == 0
            self.count += len(batch)
            last = answer["Records"][-1]["SequenceNumber"]
        return last

    def iterator(self, kind: str, **extra: Any) -> str:
        return str(
            self.kinesis.get_shard_iterator(
                StreamName=self.stream, ShardId=self.shard, ShardIteratorType=kind, **extra
            )["ShardIterator"]
        )

    def window(self, records: int, limit: int) -> Window:
        """Put ``records``, then read exactly those back with ``Limit=limit``; time both."""
        before = self.count
        start_iterator = self.iterator("LATEST")
        cpu0, t0 = _cpu_seconds(self.pid), time.perf_counter()
        self.put(records)
        t1 = time.perf_counter()
        iterator, read = start_iterator, 0
        while read < records:
            answer = self.kinesis.get_records(ShardIterator=iterator, Limit=limit)
            read += len(answer["Records"])
            iterator = answer["NextShardIterator"]
            assert answer["Records"], "a window's records went missing"
        t2 = time.perf_counter()
        cpu = _cpu_seconds(self.pid) - cpu0
        assert read == records
        tail = []
        for _ in range(10):  # caught up: nothing new, yet unpatched moto scans the whole shard
            started = time.perf_counter()
            answer = self.kinesis.get_records(ShardIterator=iterator, Limit=limit)
            tail.append(time.perf_counter() - started)
            assert not answer["Records"]
            iterator = answer["NextShardIterator"]
        return Window(before, records, t1 - t0, t2 - t1, cpu, 1000 * sorted(tail)[len(tail) // 2])


def run_setup(
    setup: str, kinesis: Any, args: argparse.Namespace, server_pid: int | None = None
) -> list[Window]:
    """Empty-shard window, fill to ``--fill`` records, second window; prints as it goes.

    A throwaway stream takes the first calls' costs (client set-up, moto's lazy imports) first.
    """
    name, payload = f"bench-{setup.replace('+', '-')}", b"x" * args.record_bytes
    Bench(kinesis, f"{name}-warm-up", payload, server_pid).window(500, args.limit)  # first-call costs
    bench = Bench(kinesis, name, payload, server_pid)
    empty = bench.window(args.window, args.limit)
    print(empty.line(setup), flush=True)
    started = time.perf_counter()
    bench.put(args.fill - bench.count)
    print(f"{'':12} (filled to {bench.count:,} in {time.perf_counter() - started:.1f} s)", flush=True)
    full = bench.window(args.window, args.limit)
    print(full.line(setup), flush=True)
    return [empty, full]


@contextmanager
def in_process() -> Iterator[Any]:
    """A Kinesis client on moto in this process (``mock_aws``), never on a server."""
    from moto import mock_aws

    with mock_aws():
        yield boto3.session.Session().client(
            "kinesis",
            region_name="us-east-1",
            endpoint_url="https://kinesis.us-east-1.amazonaws.com",  # not AWS_ENDPOINT_URL
            aws_access_key_id="bench",
            aws_secret_access_key="bench",
            config=_CLIENT_CONFIG,
        )


def patch_this_process(work: Path) -> None:
    """Apply fraudstack's moto patches here, as the emulator does at start-up."""
    from fraudstack.localaws import patches
    from fraudstack.localaws.glue_runner import GlueRunner
    from fraudstack.localaws.kinesis_store import KinesisStore
    from fraudstack.localaws.lambda_runtime import LambdaRuntime
    from fraudstack.localaws.s3_store import S3Store

    patches.apply(
        LambdaRuntime(work / "lambda", "http://127.0.0.1:1"),
        GlueRunner(work / "glue", "http://127.0.0.1:1", "us-east-1", s3_client=None),
        S3Store(work / "s3"),
        KinesisStore(work / "kinesis"),
    )


@contextmanager
def server(work: Path, plain_moto: bool) -> Iterator[tuple[Any, int]]:
    """(client, pid) of the fraudstack emulator, or of plain ``moto.server`` when ``plain_moto``."""
    from fraudstack.embedded.process import ManagedServer, ServerSpec
    from fraudstack.embedded.servers import emulator_spec
    from fraudstack.settings import EMULATOR_ACCESS_KEY_ID, EMULATOR_SECRET_ACCESS_KEY, load_settings

    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    kinesis = boto3.session.Session().client(
        "kinesis",
        region_name="us-east-1",
        endpoint_url=endpoint,
        aws_access_key_id=EMULATOR_ACCESS_KEY_ID,
        aws_secret_access_key=EMULATOR_SECRET_ACCESS_KEY,
        config=_CLIENT_CONFIG,
    )

    def healthy() -> bool:
        try:
            kinesis.list_streams()
        except Exception:
            return False
        return True

    state_dir = work / ("moto-server" if plain_moto else "emulator")
    spec = emulator_spec(load_settings(state_dir=state_dir, moto_port=port))
    if plain_moto:
        spec = ServerSpec(
            name="moto-server",
            port=port,
            port_setting="-",
            endpoint=endpoint,
            command=lambda: [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            healthy=healthy,
            env={"PYTHONUNBUFFERED": "1"},
            startup_timeout=60.0,
        )
    managed = ManagedServer(spec, state_dir)
    pid = managed.spawn()
    try:
        managed.wait_healthy()
        yield kinesis, pid
    finally:
        managed.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--fill", type=int, default=40_000, help="records in the shard before window 2")
    parser.add_argument("--window", type=int, default=5_000, help="records put and read per window")
    parser.add_argument("--limit", type=int, default=500, help="GetRecords Limit")
    parser.add_argument("--record-bytes", type=int, default=700, help="payload size (the bridge's ~730 B)")
    parser.add_argument("--with-moto-server", action="store_true", help="also time plain moto.server")
    args = parser.parse_args()
    os.environ.pop("AWS_ENDPOINT_URL", None)  # the servers below get explicit endpoints

    print(
        f"one shard, {args.record_bytes} B records, PutRecords of 500, GetRecords Limit={args.limit}, "
        f"windows of {args.window:,} records\n"
        f"{'setup':<12} {'in shard':>7} {'put rec/s':>10} {'get rec/s':>10} {'put+get/s':>10} "
        f"{'rec/CPU-s':>12} {'tail ms':>9}"
    )
    results: dict[str, list[Window]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-kinesis-") as tmp:
        work = Path(tmp)
        with in_process() as kinesis:
            results["moto"] = run_setup("moto", kinesis, args)
        patch_this_process(work)  # from here on, moto in this process is patched
        with in_process() as kinesis:
            results["moto+patch"] = run_setup("moto+patch", kinesis, args)
        with server(work, plain_moto=False) as (kinesis, pid):
            results["emulator"] = run_setup("emulator", kinesis, args, server_pid=pid)
        if args.with_moto_server:
            with server(work, plain_moto=True) as (kinesis, pid):
                results["moto-server"] = run_setup("moto-server", kinesis, args, server_pid=pid)

    def both(w: Window) -> float:
        return w.records / (w.put_s + w.get_s)

    print("\nratios (put+get records/s, wall):")
    for setup, windows in results.items():
        print(f"  {setup:<12} full / empty shard: {both(windows[1]) / both(windows[0]):.2f}")
    pairs = [("moto+patch", "moto"), ("emulator", "moto"), ("emulator", "moto-server")]
    for new, old in pairs:
        if new in results and old in results:
            for i, label in enumerate(("empty", f"{results[new][1].before:,} in shard")):
                print(
                    f"  {new} / {old}, {label}: {both(results[new][i]) / both(results[old][i]):.2f}"
                    f" (CPU: {results[old][i].cpu_s / results[new][i].cpu_s:.2f})"
                )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
