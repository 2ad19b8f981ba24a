"""Streaming scorer: sustained throughput, produce->decision latency, and the broker's raw consume rate.

Targets (issue 9): >= 20,000 tx/s sustained on the 2-core machine; p99 <= 50 ms from a
transaction's produce to its decision at a fixed offered load of 2,000 tx/s. Throughput is
also printed as a ratio of the broker's raw consume rate measured in the same run.

Runs against the stack the environment points at (``fraudstack stack up`` then
``fraudstack deploy``), with the real service as a subprocess (``python -m fraudstack score``)
on fresh topics and consumer groups. It uses the registry's current model, or trains and
promotes a small one when there is none.

    .venv/bin/python bench/bench_scorer.py [--events 200000] [--rate 2000] [--seconds 20]

Phases:
1. raw: produce ``--events`` simulated transactions, then consume them with a bare consumer
   (no parsing): the broker's consume rate on this machine.
2. throughput: a scorer starts on that backlog; rate = events / (last - first decision time).
   The scorer's CPU seconds are printed too: the shared machine's load skews wall time.
3. latency: a fresh scorer, transactions offered at ``--rate``/s for ``--seconds`` by a
   producer without linger; latency = decision time - transaction time (Kafka CreateTime,
   both set at ``produce()``), and the time until a consumer of the decisions topic has it.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import numpy as np
from confluent_kafka import OFFSET_BEGINNING, Consumer, Producer, TopicPartition

from fraudstack.kafka.config import consumer_config, producer_config
from fraudstack.kafka.producer import produce_events
from fraudstack.kafka.topics import ensure_topics
from fraudstack.model import registry
from fraudstack.settings import Settings, load_settings
from fraudstack.simulator import SimulationConfig
from fraudstack.simulator.stream import iter_events


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
    env = {**os.environ, **settings.subprocess_env(), "PYTHONUNBUFFERED": "1"}
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "fraudstack", "score", *args],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )


def wait_for_log(log: Path, msg: str, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for line in log.read_text(errors="replace").splitlines():
            if line.startswith("{") and json.loads(line)["msg"] == msg:
                return dict(json.loads(line))
        time.sleep(0.1)
    raise SystemExit(f"no {msg!r} in {log} after {timeout}s")


def isolated(settings: Settings, tag: str) -> Settings:
    return settings.model_copy(
        update={
            "topic_transactions": f"bench-tx-{tag}",
            "topic_decisions": f"bench-decisions-{tag}",
            "topic_dead_letter": f"bench-dlq-{tag}",
            "scorer_group_id": f"bench-scorer-{tag}",
        }
    )


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system) a running process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def throughput(settings: Settings, events: list[dict[str, Any]], instances: int, log_dir: Path) -> None:
    n = len(events)
    started = time.perf_counter()
    summary = produce_events(settings, events)
    produce_rate = summary.sent / (time.perf_counter() - started)
    raw = raw_consume_rate(settings, settings.topic_transactions, n)
    print(f"raw: produced {summary.sent:,} at {produce_rate:,.0f} tx/s; bare consumer {raw:,.0f} tx/s")

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


def latency(
    settings: Settings, events: list[dict[str, Any]], rate: float, seconds: float, log_dir: Path
) -> None:
    log = log_dir / "latency.log"
    scorer = start_scorer(settings, log)
    try:
        wait_for_log(log, "partitions assigned")
        received: dict[bytes, float] = {}
        stop = threading.Event()
        reader = threading.Thread(target=_receive, args=(settings, received, stop), daemon=True)
        reader.start()
        offered = events[: int(rate * seconds)]
        producer = Producer(producer_config(settings, client_id="bench-pos", **{"linger.ms": 0}))
        summary = produce_events(settings, offered, rate=rate, producer=producer)
        deadline = time.monotonic() + 60
        while len(received) < summary.sent and time.monotonic() < deadline:
            time.sleep(0.2)
        stop.set()
        reader.join()
    finally:
        scorer.send_signal(signal.SIGTERM)
        scorer.wait(60)
    sent = {
        json.loads(m.value())["transaction_id"].encode(): m.timestamp()[1]
        for m in read_topic(settings, settings.topic_transactions, len(offered), 60)
    }
    decided = {
        m.key(): m.timestamp()[1] for m in read_topic(settings, settings.topic_decisions, len(offered), 60)
    }
    keys = [key for key in decided if key in sent]
    emitted = np.array([decided[k] - sent[k] for k in keys], dtype=np.float64)
    seen = np.array([received[k] * 1000.0 - sent[k] for k in keys if k in received], dtype=np.float64)
    print(
        f"latency at {summary.sent / summary.seconds:,.0f} tx/s offered for {summary.seconds:.0f} s "
        f"({len(keys):,} decided of {summary.sent:,}):"
    )
    for name, values in (("decision produced", emitted), ("decision consumed", seen)):
        p50, p99 = np.percentile(values, [50, 99])
        print(f"  produce -> {name}: p50 {p50:.1f} ms, p99 {p99:.1f} ms, max {values.max():.1f} ms")
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
        "--alert-threshold",
        type=float,
        default=0.99,
        help="SNS alert threshold; the emulator's SNS takes 0.1-0.5 s a call (it would be measured instead)",
    )
    args = parser.parse_args()

    base = load_settings(kafka_session_timeout_ms=6000, scorer_alert_threshold=args.alert_threshold)
    print(f"model {ensure_model(base)}; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    days = max(2, args.events // 40_000 + 1)
    events = list(iter_events(SimulationConfig(customers=20_000, days=days, seed=9)))[: args.events]
    if len(events) < args.events:
        raise SystemExit(f"the simulation gave only {len(events):,} events")
    log_dir = Path(tempfile.mkdtemp(prefix="bench-scorer-"))
    tag = uuid.uuid4().hex[:8]
    for settings in (isolated(base, f"t{tag}"), isolated(base, f"l{tag}")):
        ensure_topics(
            settings, [settings.topic_transactions, settings.topic_decisions, settings.topic_dead_letter]
        )
    if not args.latency_only:
        throughput(isolated(base, f"t{tag}"), events, args.instances, log_dir)
    latency(isolated(base, f"l{tag}"), events, args.rate, args.seconds, log_dir)
    print(f"scorer logs: {log_dir}")


if __name__ == "__main__":
    main()
