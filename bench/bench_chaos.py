"""Chaos bench: kill -9 every moving part once while 1,000 tx/s flow, restart it as an operator
would, and count each transaction at every stage.

    PYTHONPATH=. .venv/bin/python bench/bench_chaos.py [--seconds 60] [--rate 1000]

Starts its own embedded stack (free ports, temporary state dir; the broker stores durably in the
emulator's S3 unless ``--kafka-storage memory``), trains a small model for the scorer, runs the
bridge and the scorer as processes, and produces simulated transactions for at least
``--seconds`` while the schedule runs (times from the start of the stream):

- the bridge, the scorer and the broker, killed at 5, 10 and 15 s;
- from 20 s, on a thread: a Glue ETL run (``fraudstack etl``, the Glue script on a local Spark)
  killed mid-run, once its load is under way and uncommitted; the rerun, with PostgreSQL killed
  during its uncommitted load;
- the AWS emulator, killed once both ETL runs are over (or at 40 s, whichever is later), so the
  ETL is not hit by it too; production goes on until ``--seconds`` and at least 15 s after the
  emulator is back.

Then it waits for every stage to settle (complete, or unchanged for ``--quiet`` s), runs the
ETL once more, and prints the timeline and the count: acked produces vs lake (raw/ records by
transaction_id) vs warehouse (fact_transactions) vs scorer decisions vs alerts delivered, each
loss with the stage where it happened and when the missing records were acked (which kill lost
them), and the repeats likewise. Nothing is asserted: losses are findings, printed.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from fraudstack.settings import Settings
from fraudstack.simulator import SimulationConfig
from fraudstack.simulator.stream import iter_events
from tests.chaos.harness import (
    AlertTap,
    ChaosStack,
    Counts,
    DecisionCounter,
    Stream,
    chaos_settings,
    settle,
    timeline,
    topic_ids,
    where_lost,
)
from tests.support.scoring import publish_model, train_tiny_model
from tests.support.stack import new_state_dir


def train_model(settings: Settings) -> str:
    """The test suite's tiny card-only model, published and made current for the scorer.

    Card-only as in the chaos test: the bench runs no profiles aggregator, and a model that
    reads entity profiles would score without them and alert nothing.
    """
    model = train_tiny_model()
    publish_model(settings, model, Path(tempfile.mkdtemp(prefix="bench-chaos-model-")), reason="bench_chaos")
    return str(model.version)


def events(seed: int = 7) -> Any:
    """An endless-enough simulated stream (5% fraud, so the scorer reviews, declines and alerts)."""
    return iter_events(SimulationConfig(customers=3000, days=400, fraud_rate=0.05, seed=seed))


def at(chaos: ChaosStack, start: float, seconds: float) -> None:
    """Wait until ``seconds`` after the stream's start (the schedule's clock)."""
    while chaos.clock() - start < seconds:
        time.sleep(0.05)


def etl_phase(chaos: ChaosStack, done: threading.Event) -> None:
    """ETL killed mid-run, then the rerun with PostgreSQL killed during its load."""
    try:
        chaos.mark("ETL run 1 starts")
        run = chaos.etl("etl-1", kills=("etl",))
        chaos.mark(f"ETL run 1 ended: exit {run.exit_code} after {run.seconds:.0f}s")
        chaos.mark("ETL run 2 starts")
        run = chaos.etl("etl-2", kills=("postgres",))
        chaos.mark(f"ETL run 2 ended: exit {run.exit_code} after {run.seconds:.0f}s ({run.last_line[:80]})")
    finally:
        done.set()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=60.0, help="produce for at least this long")
    parser.add_argument("--rate", type=float, default=1000.0, help="transactions per second offered")
    parser.add_argument("--kafka-storage", choices=("s3", "memory"), default="s3")
    parser.add_argument("--settle", type=float, default=300.0, help="most seconds to wait for each stage")
    parser.add_argument(
        "--quiet", type=float, default=30.0, help="a stage unchanged this long (seconds) is settled"
    )
    args = parser.parse_args()

    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    settings = chaos_settings(new_state_dir("bench-chaos-"), kafka_storage=args.kafka_storage)
    log_dir = Path(tempfile.mkdtemp(prefix="bench-chaos-logs-"))
    chaos = ChaosStack.create(settings, log_dir)
    tap: AlertTap | None = None
    decisions: DecisionCounter | None = None
    try:
        version = train_model(settings)
        chaos.start_bridge()
        chaos.start_scorer()
        chaos.wait_for_log("bridge", "partitions assigned", timeout=120)
        chaos.wait_for_log("scorer", "partitions assigned", timeout=120)
        print(f"stack up, model {version}, logs in {log_dir}")
        tap = AlertTap(settings)
        decisions = DecisionCounter(settings)

        start = chaos.clock()
        chaos.mark(f"stream starts at {args.rate:.0f} tx/s")
        stream = Stream(settings, events(), args.rate, chaos.clock)
        for seconds, component in ((5, "bridge"), (10, "scorer"), (15, "broker")):
            at(chaos, start, seconds)
            chaos.kill(component)
        at(chaos, start, 20)
        etl_done = threading.Event()
        threading.Thread(target=etl_phase, args=(chaos, etl_done), daemon=True).start()
        etl_done.wait()
        at(chaos, start, 40)
        emulator = chaos.kill("emulator")
        assert emulator.back is not None
        at(chaos, start, max(args.seconds, emulator.back - start + 15))
        stream.stop()
        summary = stream.result(timeout=600)
        chaos.mark(
            f"stream stopped: {summary.sent:,} acked, {summary.failed:,} failed, {summary.rate:,.0f} tx/s"
        )

        acked = set(stream.producer.acked)

        def decided() -> set[str]:
            decisions.read()
            return set(decisions.decisions)

        settled = {
            "lake": settle(lambda: set(chaos.lake_ids()), acked, args.quiet, args.settle),
            "decisions": settle(decided, acked, args.quiet, args.settle),
        }
        alerting = decisions.alerting & acked
        settled["alerts"] = settle(lambda: set(tap.alerts), alerting, args.quiet, args.settle)
        states = ", ".join(f"{k} {'complete' if v else 'incomplete'}" for k, v in settled.items())
        chaos.mark(f"settled: {states}")
        # As a schedule would: rerun until a run finds nothing new (the first resumes the batch
        # the killed runs claimed; the next takes what arrived since).
        for number in range(3, 7):
            chaos.mark(f"ETL run {number} starts")
            final = chaos.etl(f"etl-{number}")
            chaos.mark(f"ETL run {number} ended: exit {final.exit_code} after {final.seconds:.0f}s")
            print(f"ETL run {number}: {final.last_line}")
            if final.exit_code != 0 or "no new raw objects" in final.last_line:
                break
        dead = chaos.dead()
        in_kafka, partitions = topic_ids(settings, settings.topic_transactions)

        lake = chaos.lake_ids()
        decisions.read()
        counts = Counts(
            produced=set(stream.producer.attempted),
            acked=stream.producer.acked,
            lake=lake,
            warehouse=chaos.warehouse_ids(set(lake) | acked),
            decisions=decisions.decisions,
            alert_expected=decisions.alerting,
            alerts=tap.alerts,
        )
        print(
            f"\nkafka storage: {args.kafka_storage}; offered {args.rate:.0f} tx/s for {summary.seconds:.0f}s"
        )
        print(f"timeline (seconds since the stack was up):\n{timeline(chaos.kills, chaos.marks)}")
        print(f"\n{counts.table()}\n")
        repeats = Counts.repeats(in_kafka)
        print(f"on the transactions topic: {len(in_kafka):,} distinct ids, {repeats:,} repeats")
        print(f"acked, not on the topic (broker lost them): {len(acked - set(in_kafka)):,}")
        not_in_lake = acked - set(lake)
        print(f"acked, on the topic, not in the lake: {len(not_in_lake & set(in_kafka)):,}")
        print(partitions)
        for stage, missing in counts.lost().items():
            print(f"{stage}: {where_lost(missing, counts.acked, chaos.kills)}")
        for name, counter in (("lake", lake), ("decisions", decisions.decisions), ("alerts", tap.alerts)):
            repeated = {i for i, n in counter.items() if n > 1}
            print(f"repeated in {name}: {where_lost(repeated, counts.acked, chaos.kills)}")
        print(f"not running at the end: {dead or 'none'}")
        print(f"load average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    finally:
        if tap is not None:
            tap.stop()
        if decisions is not None:
            decisions.close()
        chaos.close()


if __name__ == "__main__":
    main()
