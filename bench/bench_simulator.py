"""Simulator throughput: transactions per second written to Parquet on one core.

Run: ``.venv/bin/python bench/bench_simulator.py [--customers N] [--days D]``. The default
world produces about 1.1M transactions. Arrow is pinned to one thread so the figure is a
one-core figure (numpy here is single-threaded anyway); CPU time is printed next to wall
time because on a shared machine wall time also measures the neighbours. Also reports the event-dict stream
the producer consumes and JSON lines, on a smaller run.
"""

from __future__ import annotations

import argparse
import itertools
import tempfile
import time
from pathlib import Path

import pyarrow as pa

from fraudstack.simulator import SimulationConfig, iter_events, write


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--days", type=int, default=25)
    args = parser.parse_args()
    pa.set_cpu_count(1)
    pa.set_io_thread_count(1)

    config = SimulationConfig(customers=args.customers, days=args.days)
    with tempfile.TemporaryDirectory() as tmp:
        began, cpu_began = time.perf_counter(), time.process_time()
        summary = write(config, Path(tmp) / "bench.parquet")
        seconds, cpu = time.perf_counter() - began, time.process_time() - cpu_began
        size_mb = summary.path.stat().st_size / 1e6
        print(
            f"parquet: {summary.rows:,} rows in {seconds:.2f} s wall = {summary.rows / seconds:,.0f} tx/s; "
            f"{cpu:.2f} s CPU = {summary.rows / cpu:,.0f} tx/s per core "
            f"({size_mb:.0f} MB, {summary.frauds:,} fraud rows)"
        )

        small = SimulationConfig(customers=args.customers // 10, days=args.days)
        began = time.perf_counter()
        summary = write(small, Path(tmp) / "bench.jsonl", "jsonl")
        seconds = time.perf_counter() - began
        print(f"jsonl:   {summary.rows:,} rows in {seconds:.2f} s = {summary.rows / seconds:,.0f} tx/s")

    began = time.perf_counter()
    count = sum(1 for _ in itertools.islice(iter_events(small), 100_000))
    seconds = time.perf_counter() - began
    print(f"iter_events (dicts for the producer): {count / seconds:,.0f} events/s")


if __name__ == "__main__":
    main()
