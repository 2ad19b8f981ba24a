"""The chaos schedule: kill -9 each moving part once while transactions flow, restart it the way
an operator would, and count every transaction at every stage.

What is asserted is what the design guarantees (:mod:`tests.chaos.harness` explains the counts):

- bridge, scorer and broker (durable storage) killed mid-stream: every acked transaction reaches
  the lake, is decided, and every alerting decision is alerted - nothing lost;
- emulator killed mid-stream: its Kinesis records are logged to disk before a put answers and
  its Firehose delivery resumes after what it had delivered (fraudstack.localaws.kinesis_store,
  firehose_delivery), so every acked transaction reaches the lake (a batch delivered just before
  the kill may arrive twice: lake repeats are printed, the ETL dedupes); nothing stays dead, the
  broker (whose storage is the emulator's S3, written through to disk) kept every acked record,
  so all are decided;
- a Glue ETL run whose load is under way and uncommitted: the job (with its Spark JVM) and
  PostgreSQL killed back to back, PostgreSQL restarted, the run rerun (it resumes the claimed
  batch): the warehouse holds exactly the lake's transactions, each once. (The bench kills the
  job and PostgreSQL in separate runs; here one Spark run less keeps the test short.)

While the emulator is down the broker cannot write its storage and fails produce requests with
an error librdkafka does not retry (UNKNOWN_SERVER_ERROR): the producer sends those records
again once the broker accepts writes (fraudstack.ingestion.producer.RESENT_ERRORS), so none is
reported failed.

Alerts: the scorer replays what it had not committed after its kill, and the publisher's
markers (fraudstack.scoring.alert_publisher) keep those replays from going out again. An alert SNS
accepted in the milliseconds before the emulator's kill, before its marker was written, goes
again: repeats are counted and printed, not asserted to be zero.
The single-fault tests (tests/ingestion/test_faults.py, tests/scoring/test_scorer.py) cover each
kill alone; this is the combined schedule with the count across stages.
"""

from __future__ import annotations

import pytest

from tests.chaos.harness import (
    AlertTap,
    ChaosStack,
    Counts,
    DecisionCounter,
    Stream,
    simulated_events,
    timeline,
    where_lost,
)

pytestmark = [pytest.mark.chaos, pytest.mark.slow, pytest.mark.timeout(900)]

RATE = 1000.0


def _kill_when_acked(chaos: ChaosStack, stream: Stream, share: float, component: str) -> None:
    """Kill ``component`` once ``share`` of the stream is acked: mid-stream, whatever the load."""
    assert stream.total is not None
    target = int(share * stream.total)
    assert chaos.holds_within(lambda: stream.acked >= target, timeout=300), (
        f"only {stream.acked} of {stream.total} acked before the {component} kill"
    )
    chaos.kill(component)


def test_kill_schedule_loses_nothing_the_design_keeps(chaos: ChaosStack) -> None:
    settings = chaos.settings
    events = simulated_events(6_500)
    streams: list[Stream] = []
    tap = AlertTap(settings)
    decisions = DecisionCounter(settings)
    try:
        # 1. Bridge, scorer and broker, each killed once while 1,000 tx/s flow.
        chaos.mark("stream 1 (4,000 tx) starts")
        first = Stream(settings, events[:4_000], RATE, chaos.clock)
        streams.append(first)
        for component, share in (("bridge", 0.25), ("scorer", 0.5), ("broker", 0.75)):
            _kill_when_acked(chaos, first, share, component)
        summary = first.result(timeout=300)
        assert (summary.sent, summary.failed) == (4_000, 0), summary.errors
        acked_first = set(first.producer.acked)
        assert chaos.holds_within(lambda: acked_first <= set(chaos.lake_ids()), timeout=300), (
            f"{len(acked_first - set(chaos.lake_ids()))} acked transactions not in the lake; bridge log:\n"
            f"{chaos.log_tail('bridge')}"
        )
        assert decisions.wait_for(acked_first, timeout=300), decisions.missing(acked_first, settings)
        chaos.mark("stream 1 in the lake and decided")
        alerting_first = decisions.alerting & acked_first
        assert alerting_first, "the schedule should include alerting decisions"
        assert tap.wait_for(alerting_first, timeout=300), (
            f"{len(alerting_first - set(tap.alerts))} of {len(alerting_first)} alerts not delivered"
        )

        # 2. The emulator, killed mid-stream; then a stream after it is back.
        chaos.mark("stream 2 (2,000 tx) starts")
        second = Stream(settings, events[4_000:6_000], RATE, chaos.clock)
        streams.append(second)
        _kill_when_acked(chaos, second, 0.3, "emulator")
        summary = second.result(timeout=300)
        # While its storage (the emulator's S3) is down, the broker answers produce requests with
        # UNKNOWN_SERVER_ERROR; the producer sends those records again until the broker is back.
        assert (summary.sent, summary.failed) == (2_000, 0), summary.errors
        chaos.mark("stream 3 (500 tx) starts")
        third = Stream(settings, events[6_000:], RATE, chaos.clock)
        streams.append(third)
        summary = third.result(timeout=300)
        assert (summary.sent, summary.failed) == (500, 0), summary.errors
        acked = {i for s in streams for i in s.producer.acked}
        assert chaos.holds_within(lambda: acked <= set(chaos.lake_ids()), timeout=300), (
            f"{len(acked - set(chaos.lake_ids()))} acked transactions not in the lake after the emulator "
            f"kill; bridge log:\n{chaos.log_tail('bridge')}"
        )
        acked_third = set(third.producer.acked)
        assert decisions.wait_for(acked, timeout=300), decisions.missing(acked, settings)
        assert tap.wait_for(decisions.alerting & acked_third, timeout=300)
        assert chaos.dead() == [], f"not running after the schedule: {chaos.dead()}"

        # 3. The ETL: the job itself (with its Spark JVM) and PostgreSQL killed back to back while
        #    the run's load is uncommitted, its batch claimed; the rerun resumes the batch. (Back
        #    to back because either alone ends the run within a second, and a Spark run costs
        #    tens of seconds here; the bench kills them in separate runs.)
        chaos.mark("ETL run 1 starts")
        killed = chaos.etl("etl-1", kills=("etl", "postgres"), gap=0)
        assert [k.component for k in chaos.kills][-2:] == ["etl", "postgres"], (
            f"the ETL ended ({killed}) before its load could be interrupted"
        )
        assert killed.exit_code < 0, killed
        chaos.mark("ETL run 2 starts")
        final = chaos.etl("etl-2")
        assert final.exit_code == 0, chaos.log_tail("etl-2", 30)
        assert chaos.dead() == [], f"not running after the ETL: {chaos.dead()}"

        chaos.mark("counting")
        lake = chaos.lake_ids()
        warehouse = chaos.warehouse_ids(set(lake) | acked)
        decisions.read()
    finally:
        tap.stop()
        decisions.close()

    all_ids = {e["transaction_id"] for e in events}
    counts = Counts(
        produced=all_ids,
        acked={k: v for s in streams for k, v in s.producer.acked.items()},
        lake=lake,
        warehouse=warehouse,
        decisions=decisions.decisions,
        alert_expected=decisions.alerting,
        alerts=tap.alerts,
    )
    lost_in_lake = counts.lost()["acked, not in the lake (Kafka -> bridge -> Kinesis -> Firehose -> S3)"]
    print(f"\nchaos schedule (rate {RATE:.0f} tx/s):\n{timeline(chaos.kills, chaos.marks)}\n{counts.table()}")
    print(f"lost before the lake: {where_lost(lost_in_lake, counts.acked, chaos.kills)}")
    repeated = {i for i, n in tap.alerts.items() if n > 1}
    print(f"alerts delivered more than once: {where_lost(repeated, counts.acked, chaos.kills)}")

    assert set(lake) <= all_ids, "the lake holds transactions nobody produced"
    print(f"in the lake although the producer was told they failed: {len(set(lake) - acked)}")
    assert not acked - set(lake), "a kill lost acked records before the lake"
    assert set(warehouse) == set(lake), "the warehouse differs from the lake after the ETL kills"
    assert Counts.repeats(warehouse) == 0
    assert acked <= set(decisions.decisions)
    assert set(tap.alerts) <= decisions.alerting, "an alert for a transaction that did not score as one"
