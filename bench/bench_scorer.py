"""Streaming scorer: sustained throughput, produce->decision latency, and the broker's raw consume rate.

Targets (issue 9): >= 20,000 tx/s sustained on the 2-core machine; p99 <= 50 ms from a
transaction's produce to its decision at a fixed offered load of 2,000 tx/s. Throughput is
also printed as a ratio of the broker's raw consume rate measured in the same run.

Runs against the stack the environment points at (``fraudstack stack up`` then
``fraudstack deploy``), with the real service as a subprocess (``python -m fraudstack score``)
on fresh topics and consumer groups. It uses the registry's current model, or trains and
promotes a small one when there is none.

    .venv/bin/python bench/bench_scorer.py [--events 200000] [--rate 2000] [--seconds 20] [--shadow]

``--shadow`` stages a copy of the current model as the challenger for the run (shadow scoring:
every transaction scored twice, one more record produced per transaction), to compare with a
run without it on the same stack.

Phases:
1. raw: produce ``--events`` simulated transactions, then consume them with a bare consumer
   (no parsing): the broker's consume rate on this machine.
2. throughput: a scorer starts on that backlog; rate = events / (last - first decision time).
   The scorer's CPU seconds are printed too: the shared machine's load skews wall time.
3. broker floor: the same offered load into a fresh topic, read by a bare consumer with the
   scorer's fetch settings: produce -> consumed, what any consumer of this broker sees.
With ``--profiles`` the entity-profile aggregator runs too: over the backlog before the
throughput phase (so the scorer reads a full profile table), and live beside the scorer in the
latency phase (on the same two cores here; on ECS it is a task of its own).

4. latency: a fresh scorer, transactions offered at ``--rate``/s for ``--seconds``;
   latency = decision time - transaction time (Kafka CreateTime, both set at ``produce()``,
   the scorer's own ``EndToEndLatency``) and, with ``--follow-decisions``, the time until a
   consumer of the decisions topic has it (off by default: on two cores that consumer's
   fetches load the broker the scorer is measured against).

Phases 3 and 4 produce like a payment gateway would: a long-lived producer (connected, with
the topic's metadata, before the clock starts) that batches for ``--linger-ms`` (10). The
linger is inside the measured latency (CreateTime is set at ``produce()``), and on the
embedded broker it is the knob that matters most: Tansu 0.6.0's memory engine lists every
stored batch of a partition on every fetch, so the number of batches stored - one per
partition per produce request - sets how fast every fetch slows down as the topic grows.
At 2,000 tx/s on four partitions (fresh stack, ``--latency-only``, two runs each):

    linger   broker floor p99   produce -> decision p50 / p99
    5 ms     25-36 ms, rising   13-15 / 46-103 ms, rising to 70-180 ms in the last seconds
    10 ms    21-22 ms, flat     13 / 25-27 ms
    20 ms    28-29 ms, flat     17 / 30-31 ms

10 ms gives the same median as 5 ms and half its tail here; on Kafka/MSK, whose fetch cost
does not grow with the log, a shorter linger would simply be faster. The floor and the
per-second p99 printed show how much of the scorer's latency is the broker's.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import signal
import subprocess
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import numpy as np
from confluent_kafka import OFFSET_BEGINNING, Consumer, Producer, TopicPartition

from fraudstack.ingestion.producer import produce_events
from fraudstack.kafka.config import consumer_config, producer_config
from fraudstack.kafka.topics import ensure_topics
from fraudstack.model import registry
from fraudstack.scoring.scorer import prompt_fetch
from fraudstack.settings import Settings, load_settings
from fraudstack.simulator import SimulationConfig
from fraudstack.simulator.stream import iter_events
from tests.support import poll
from tests.support.stack import spawn_service


def ensure_model(settings: Settings) -> str:
    """The current model's version; trains and promotes a small one if the registry has none."""
    version = registry.current_version(settings)
    if version is not None:
        return version
    from fraudstack.model.data import simulated
    from fraudstack.model.training import TrainConfig, train

    model = train(
        simulated(customers=2000, days=14, fraud_rate=0.01, seed=3),
        TrainConfig(warmup_days=1, val_days=3, test_days=3, gap_days=0, max_rounds=200),
    ).model
    directory = Path(tempfile.mkdtemp(prefix="bench-model-"))
    registry.save_local(model, directory)
    registry.publish(settings, directory)
    registry.set_current(settings, model.version, reason="bench_scorer: no model was current")
    return model.version


def stage_copy(settings: Settings, version: str) -> str:
    """Publish the current model again under another version and stage it as the challenger:
    the scorer then scores every transaction twice (a challenger as costly as the champion)."""
    model = registry.load_model(settings, version)
    copy = f"{version}-shadow"
    model.version = copy
    model.manifest = {**model.manifest, "version": copy}
    directory = Path(tempfile.mkdtemp(prefix="bench-shadow-"))
    registry.save_local(model, directory)
    registry.publish(settings, directory)
    registry.stage(settings, copy, reason="bench_scorer --shadow")
    return copy


def read_topic(settings: Settings, topic: str, expected: int, timeout: float) -> list[Any]:
    """Every record of ``topic`` from the beginning (no group), until ``expected`` or ``timeout``."""
    consumer = Consumer(consumer_config(settings, f"bench-reader-{uuid.uuid4().hex[:8]}"))
    partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
    consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions])
    records: list[Any] = []
    deadline = time.monotonic() + timeout
    while len(records) < expected and time.monotonic() < deadline:
        records += [m for m in consumer.consume(10_000, 0.2) if m.error() is None]
    consumer.close()
    return records


def raw_consume_rate(settings: Settings, topic: str, expected: int) -> float:
    """Records per second a bare group consumer takes from the broker (first to last record)."""
    consumer = Consumer(consumer_config(settings, f"bench-raw-{uuid.uuid4().hex[:8]}"))
    consumer.subscribe([topic])
    seen, first = 0, 0.0
    deadline = time.monotonic() + 120
    while seen < expected and time.monotonic() < deadline:
        got = consumer.consume(10_000, 0.2) if seen else consumer.consume(1, 0.5)
        if got and not seen:
            first = time.perf_counter()
        seen += sum(1 for m in got if m.error() is None)
    rate = seen / (time.perf_counter() - first)
    consumer.close()
    return rate


def start_scorer(settings: Settings, log: Path, *args: str) -> subprocess.Popen[bytes]:
    return spawn_service(settings, log, "score", *args)


def wait_for_log(log: Path, msg: str, timeout: float = 60) -> dict[str, Any]:
    def found() -> dict[str, Any] | None:
        lines = (json.loads(line) for line in log.read_text(errors="replace").splitlines() if line[:1] == "{")
        return next((dict(line) for line in lines if line["msg"] == msg), None)

    line = poll(found, timeout, interval=0.1)
    if line is None:
        raise SystemExit(f"no {msg!r} in {log} after {timeout}s")
    return line


def isolated(settings: Settings, tag: str) -> Settings:
    return settings.model_copy(
        update={
            "topic_transactions": f"bench-tx-{tag}",
            "topic_decisions": f"bench-decisions-{tag}",
            "topic_dead_letter": f"bench-dlq-{tag}",
            "topic_shadow_scores": f"bench-shadow-{tag}",
            "topic_labels": f"bench-labels-{tag}",
            "topic_entity_events": f"bench-entity-events-{tag}",
            "topic_entity_profiles": f"bench-profiles-{tag}",
            "scorer_group_id": f"bench-scorer-{tag}",
            "profiles_group_id": f"bench-profiles-{tag}",
        }
    )


def start_aggregator(settings: Settings, log: Path, *args: str) -> subprocess.Popen[bytes]:
    """The entity-profile aggregator (``fraudstack profiles``) on the phase's topics."""
    return spawn_service(settings, log, "profiles", *args)


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system) a running process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def throughput(
    settings: Settings, events: list[dict[str, Any]], instances: int, log_dir: Path, profiles: bool
) -> None:
    n = len(events)
    started = time.perf_counter()
    summary = produce_events(settings, events)
    produce_rate = summary.sent / (time.perf_counter() - started)
    raw = raw_consume_rate(settings, settings.topic_transactions, n)
    print(f"raw: produced {summary.sent:,} at {produce_rate:,.0f} tx/s; bare consumer {raw:,.0f} tx/s")
    if profiles:  # the table full before the clock starts: the scorer's own cost, not the aggregator's
        started = time.perf_counter()
        start_aggregator(settings, log_dir / "profiles-throughput.log", "--exit-when-idle", "5").wait()
        print(f"aggregator: profiles of the backlog published in {time.perf_counter() - started - 5:.1f} s")

    cpu_before = children_cpu()
    logs = [log_dir / f"throughput-{i}.log" for i in range(instances)]
    scorers = [start_scorer(settings, log, "--exit-when-idle", "10") for log in logs]
    for log in logs:
        wait_for_log(log, "partitions assigned")
    start_up = sum(process_cpu(scorer.pid) for scorer in scorers)  # imports, model load, group join
    for scorer in scorers:
        scorer.wait()
    cpu = children_cpu() - cpu_before - start_up
    decisions = read_topic(settings, settings.topic_decisions, n, timeout=60)
    stamps = np.array([m.timestamp()[1] for m in decisions], dtype=np.float64)
    span = (stamps.max() - stamps.min()) / 1000.0
    rate = len(decisions) / span
    print(
        f"throughput ({instances} scorer process(es)): {len(decisions):,} decisions in {span:.2f} s "
        f"= {rate:,.0f} tx/s "
        f"({rate / raw:.0%} of the raw consume rate); scorer CPU after start-up {cpu:.1f} s "
        f"= {len(decisions) / cpu:,.0f} tx per CPU-second; target >= 20,000 tx/s"
    )


def gateway_producer(settings: Settings, linger_ms: int) -> Producer:
    """A gateway's producer (its batching, ``linger_ms``, is discussed in the module docstring);
    ``produce_events`` connects it before the clock starts, as a long-running gateway's is."""
    return Producer(producer_config(settings, client_id="bench-pos", **{"linger.ms": linger_ms}))


def percentiles(name: str, values: np.ndarray) -> None:
    p50, p99 = np.percentile(values, [50, 99])
    print(f"  {name}: p50 {p50:.1f} ms, p99 {p99:.1f} ms, max {values.max():.1f} ms")


def per_second_p99(sent_ms: np.ndarray, latency_ms: np.ndarray) -> str:
    """p99 of each second of the run (by produce time): a broker slowing down shows as a rise."""
    second = ((sent_ms - sent_ms.min()) // 1000).astype(int)
    return " ".join(f"{np.percentile(latency_ms[second == s], 99):.0f}" for s in np.unique(second))


def broker_floor(
    settings: Settings, events: list[dict[str, Any]], rate: float, seconds: float, linger_ms: int
) -> None:
    """Produce -> consumed for a bare consumer with the scorer's fetch settings, same load."""
    group = f"bench-floor-{uuid.uuid4().hex[:8]}"
    consumer = Consumer(consumer_config(settings, group, **prompt_fetch(settings)))
    consumer.subscribe([settings.topic_transactions])
    while not consumer.assignment():
        consumer.poll(0.1)
    arrived: list[tuple[float, float]] = []
    stop = threading.Event()

    def consume() -> None:
        while not stop.is_set():
            batch = consumer.consume(1, 0.1)
            if batch:
                batch += consumer.consume(10_000, 0)
            now = time.time() * 1000.0
            arrived.extend((m.timestamp()[1], now) for m in batch if m.error() is None)

    reader = threading.Thread(target=consume, daemon=True)
    reader.start()
    offered = events[: int(rate * seconds)]
    summary = produce_events(settings, offered, rate=rate, producer=gateway_producer(settings, linger_ms))
    deadline = time.monotonic() + 30
    while len(arrived) < summary.sent and time.monotonic() < deadline:
        time.sleep(0.2)
    stop.set()
    reader.join()
    consumer.close()
    sent, seen = np.array(arrived).T
    offered_rate = summary.sent / summary.seconds
    print(f"broker floor at {offered_rate:,.0f} tx/s ({len(arrived):,} of {summary.sent:,} read):")
    percentiles("produce -> bare consumer", seen - sent)
    print(f"  p99 per second: {per_second_p99(sent, seen - sent)}")


def latency(
    settings: Settings,
    events: list[dict[str, Any]],
    rate: float,
    seconds: float,
    linger_ms: int,
    log_dir: Path,
    follow: bool,
    profiles: bool,
) -> None:
    log = log_dir / "latency.log"
    aggregator = start_aggregator(settings, log_dir / "profiles-latency.log") if profiles else None
    scorer = start_scorer(settings, log)
    offered = events[: int(rate * seconds)]
    received: dict[bytes, float] = {}
    try:
        wait_for_log(log, "partitions assigned")
        stop = threading.Event()
        reader = threading.Thread(target=_receive, args=(settings, received, stop), daemon=True)
        if follow:
            reader.start()
        summary = produce_events(settings, offered, rate=rate, producer=gateway_producer(settings, linger_ms))
        decisions = read_topic(settings, settings.topic_decisions, summary.sent, 60)
        stop.set()
        if follow:
            reader.join()
    finally:
        for process in (scorer, aggregator):
            if process is not None:
                process.send_signal(signal.SIGTERM)
                process.wait(60)
    sent = {
        json.loads(m.value())["transaction_id"].encode(): m.timestamp()[1]
        for m in read_topic(settings, settings.topic_transactions, len(offered), 60)
    }
    decided = {m.key(): m.timestamp()[1] for m in decisions}
    kinds = {m.key(): json.loads(m.value())["decision"] for m in decisions}
    keys = [key for key in decided if key in sent]
    sent_ms = np.array([sent[k] for k in keys], dtype=np.float64)
    emitted = np.array([decided[k] for k in keys], dtype=np.float64) - sent_ms
    kind = np.array([kinds[k] for k in keys])
    print(
        f"latency at {summary.sent / summary.seconds:,.0f} tx/s offered for {summary.seconds:.0f} s "
        f"({len(keys):,} decided of {summary.sent:,}):"
    )
    percentiles("produce -> decision produced", emitted)
    for name in np.unique(kind):  # reviews and declines wait for their reason codes
        percentiles(f"  {name} ({np.count_nonzero(kind == name):,})", emitted[kind == name])
    if follow:
        seen = np.array([received[k] * 1000.0 - sent[k] for k in keys if k in received], dtype=np.float64)
        percentiles("produce -> decision consumed", seen)
    print(f"  p99 per second (decision produced): {per_second_p99(sent_ms, emitted)}")
    print("  target: p99 <= 50 ms")


def _receive(settings: Settings, received: dict[bytes, float], stop: threading.Event) -> None:
    """Wall-clock time at which each decision (by key = transaction_id) reaches a consumer."""
    prompt: dict[str, Any] = {"fetch.wait.max.ms": 10}
    consumer = Consumer(consumer_config(settings, f"bench-latency-{uuid.uuid4().hex[:8]}", **prompt))
    topic = settings.topic_decisions
    partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
    consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions])
    while not stop.is_set():
        batch = consumer.consume(1, 0.1)
        if batch:
            batch += consumer.consume(10_000, 0)
        now = time.time()
        for message in batch:
            key = message.key()
            if message.error() is None and key is not None:
                received.setdefault(key, now)
    consumer.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000, help="backlog for the throughput phase")
    parser.add_argument("--rate", type=float, default=2000.0, help="offered tx/s in the latency phase")
    parser.add_argument("--seconds", type=float, default=20.0, help="length of the latency phase")
    parser.add_argument("--instances", type=int, default=1, help="scorer processes in the throughput phase")
    parser.add_argument("--latency-only", action="store_true", help="skip the raw and throughput phases")
    parser.add_argument(
        "--follow-decisions",
        action="store_true",
        help="also time each decision's arrival at a consumer (a third client fetching from the broker)",
    )
    parser.add_argument(
        "--linger-ms",
        type=int,
        default=10,
        help="the offered load's producer batching, inside the measured latency (see the docstring)",
    )
    parser.add_argument(
        "--partitions", type=int, default=None, help="partitions of the bench topics (default: the settings')"
    )
    parser.add_argument(
        "--profiles",
        action="store_true",
        help="run the entity-profile aggregator (fraudstack profiles): before the throughput phase, "
        "and beside the scorer in the latency phase",
    )
    parser.add_argument(
        "--alert-threshold",
        type=float,
        default=0.99,
        help="SNS alert threshold; the emulator's SNS takes 0.1-0.5 s a call (it would be measured instead)",
    )
    parser.add_argument(
        "--shadow",
        action="store_true",
        help="stage a copy of the current model as the challenger (shadow scoring) for the run; "
        "unstaged at the end",
    )
    args = parser.parse_args()

    base = load_settings(kafka_session_timeout_ms=6000, scorer_alert_threshold=args.alert_threshold)
    version = ensure_model(base)
    print(f"model {version}; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    if args.shadow:
        print(f"challenger in shadow: {stage_copy(base, version)}")
    try:
        run_phases(base, args)
    finally:
        if args.shadow:
            registry.unstage(base, reason="bench_scorer --shadow done")


def run_phases(base: Settings, args: argparse.Namespace) -> None:
    """Raw, throughput, broker-floor and latency phases on topics of their own."""
    days = max(2, args.events // 40_000 + 1)
    events = list(iter_events(SimulationConfig(customers=20_000, days=days, seed=9)))[: args.events]
    if len(events) < args.events:
        raise SystemExit(f"the simulation gave only {len(events):,} events")
    log_dir = Path(tempfile.mkdtemp(prefix="bench-scorer-"))
    tag = uuid.uuid4().hex[:8]
    phases = {phase: isolated(base, f"{phase}{tag}") for phase in ("t", "f", "l")}
    for settings in phases.values():
        counts = ensure_topics(
            settings,
            [settings.topic_transactions, settings.topic_decisions, settings.topic_dead_letter],
            partitions=args.partitions,
        )
    print(
        f"{counts[settings.topic_transactions]} partitions a topic; "
        f"latency phases offered by a producer with linger.ms={args.linger_ms}"
    )
    if not args.latency_only:
        throughput(phases["t"], events, args.instances, log_dir, args.profiles)
    broker_floor(phases["f"], events, args.rate, args.seconds, args.linger_ms)
    latency(
        phases["l"],
        events,
        args.rate,
        args.seconds,
        args.linger_ms,
        log_dir,
        args.follow_decisions,
        args.profiles,
    )
    print(f"scorer logs: {log_dir}")


if __name__ == "__main__":
    main()
