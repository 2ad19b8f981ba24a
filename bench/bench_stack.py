"""Cold start of the embedded stack: time from nothing to every server answering.

Target (issue 2): under 20 s on the 2-core reference machine. Each run uses a fresh state
directory (so PostgreSQL's initdb is included) and free ports; the stack is stopped after.

    .venv/bin/python bench/bench_stack.py [--runs 3]
"""

from __future__ import annotations

import argparse
import statistics
import time

from fraudstack.embedded import EmbeddedStack
from tests.support.stack import make_settings, new_state_dir


def cold_start(kafka_storage: str) -> tuple[float, float]:
    """Seconds for ``up`` from an empty state dir, and for ``down``."""
    # Not tests.support.stack.ephemeral_stack: up and down are what is timed here.
    settings = make_settings(new_state_dir("fraudstack-bench-"), kafka_storage=kafka_storage)
    stack = EmbeddedStack(settings)
    started = time.perf_counter()
    try:
        stack.up()
        up_seconds = time.perf_counter() - started
    finally:
        stopping = time.perf_counter()
        stack.down()
    return up_seconds, time.perf_counter() - stopping


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    for storage in ("memory", "s3"):
        ups, downs = zip(*(cold_start(storage) for _ in range(args.runs)), strict=True)
        print(
            f"stack up (kafka storage={storage}): median {statistics.median(ups):.2f}s "
            f"(min {min(ups):.2f}s, max {max(ups):.2f}s) over {args.runs} runs; "
            f"stack down median {statistics.median(downs):.2f}s; target < 20 s"
        )


if __name__ == "__main__":
    main()
