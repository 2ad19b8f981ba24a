"""The chaos harness: one stack of its own, every moving part killed with SIGKILL and restarted, and
the transactions counted stage by stage.

Shared by the ``chaos`` tests (small, in the default suite) and ``bench/bench_chaos.py`` (a
minute or more at 1,000 tx/s). Why a stack of its own rather than the test session's: killing
the emulator loses every in-memory resource on it (Firehose delivery streams, SNS, SQS, Lambda,
Glue, Step Functions - S3, Kinesis records and Firehose positions are kept on disk,
:mod:`fraudstack.localaws.s3_store`, :mod:`fraudstack.localaws.kinesis_store`),
and killing a broker with memory storage loses its topics; on the session's stack that would
break the tests that run after this one.

The broker stores in the emulator's S3 (``FRAUDSTACK_KAFKA_STORAGE=s3``), the durable setting;
with the default memory storage a broker kill loses every topic by design.

What counts as what (:class:`Counts`):

- **acked**: records the broker acknowledged to the producer (``acks=all``), by transaction id;
- **lake**: raw/ records Firehose delivered to S3, by transaction id (repeats kept);
- **warehouse**: ``fact_transactions`` rows for those ids (repeats kept: the primary key forbids
  them, so a repeat would mean the key was dropped);
- **decisions**: records on the scorer's decisions topic (replays after a kill are repeats);
- **alerts**: scorer alerts SNS delivered to the alerts tap queue, drained while the run goes on.

Restarts are what an operator does: ``fraudstack stack up`` (:meth:`EmbeddedStack.up`, which
starts whatever is not running) and, after the emulator, ``fraudstack deploy`` (:func:`deploy`)
to recreate the resources it kept in memory; a killed bridge, scorer or ETL run is started again.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence, Sized
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from confluent_kafka import OFFSET_BEGINNING, Consumer, Producer, TopicPartition

from fraudstack.aws import client
from fraudstack.embedded import EmbeddedStack
from fraudstack.embedded.process import ManagedServer, port_is_free
from fraudstack.errors import StackError
from fraudstack.ingestion.producer import ProduceSummary, produce_events
from fraudstack.kafka.config import consumer_config, producer_config
from fraudstack.kafka.topics import ensure_topics
from fraudstack.provisioning.base import Resource
from fraudstack.provisioning.declaration import declare
from fraudstack.provisioning.local import deploy
from fraudstack.settings import Settings
from fraudstack.warehouse import connect
from tests.support import poll, wait_until
from tests.support.stack import make_settings, spawn_service, stop_process

#: What the streaming part needs from ``fraudstack deploy`` (the whole declaration adds the
#: Glue jobs, Lambda and state machine, which the chaos runs do not use).
STREAMING_KINDS = frozenset(
    {"s3-bucket", "kinesis-stream", "iam-role", "firehose-stream", "sns-topic", "sqs-queue"}
)

#: Server names in :class:`EmbeddedStack` for the names the chaos schedule uses.
SERVERS = {"broker": "kafka", "emulator": "aws", "postgres": "warehouse"}


def chaos_settings(state_dir: Path, **overrides: Any) -> Settings:
    """Settings for a stack of its own (free ports): durable broker storage, quick Firehose buffers."""
    values: dict[str, Any] = {
        "kafka_storage": "s3",
        "kafka_storage_bucket": "chaos-kafka",
        "kafka_session_timeout_ms": 6000,
        "bucket": "chaos-lake",
        "artifacts_bucket": "chaos-artifacts",
        "firehose_buffer_seconds": 1,
        "scorer_snapshot_seconds": 1.0,
        "scorer_alert_threshold": 0.9,
        "metrics_enabled": False,
    }
    return make_settings(state_dir, **{**values, **overrides})


class AckedProducer:
    """A producer that notes each transaction id it was given, and each the broker acknowledged (when).

    Why a wrapper: :func:`produce_events` reports counts, and the chaos count needs the ids
    (which acked record went missing where). Everything else is the real producer's.
    """

    def __init__(self, producer: Producer, clock: Callable[[], float]) -> None:
        self._producer = producer
        self._clock = clock
        self.attempted: list[str] = []
        self.acked: dict[str, float] = {}

    def produce(self, topic: str, value: bytes, key: bytes, on_delivery: Callable[[Any, Any], None]) -> None:
        transaction_id = json.loads(value)["transaction_id"]

        def delivered(err: Any, msg: Any) -> None:
            if err is None:
                self.acked[transaction_id] = self._clock()
            on_delivery(err, msg)

        self._producer.produce(topic, value=value, key=key, on_delivery=delivered)
        self.attempted.append(transaction_id)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._producer, name)


class Stream:
    """:func:`produce_events` at ``rate`` on a thread, through an :class:`AckedProducer`, until the
    events run out or :meth:`stop`."""

    def __init__(
        self, settings: Settings, events: Iterable[dict[str, Any]], rate: float, clock: Callable[[], float]
    ) -> None:
        self.total = len(events) if isinstance(events, Sized) else None
        self.producer = AckedProducer(Producer(producer_config(settings, "chaos-producer")), clock)
        self.summary: ProduceSummary | None = None
        self.error: BaseException | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(settings, events, rate), daemon=True)
        self._thread.start()

    def _run(self, settings: Settings, events: Iterable[dict[str, Any]], rate: float) -> None:
        try:
            self.summary = produce_events(
                settings, events, rate=rate, stop=self._stop, producer=cast(Producer, self.producer)
            )
        except BaseException as exc:  # reported by result()
            self.error = exc
        finally:
            self.producer.close()  # flushed by produce_events; a live handle keeps polling the broker

    @property
    def acked(self) -> int:
        return len(self.producer.acked)

    def stop(self) -> None:
        self._stop.set()

    def result(self, timeout: float) -> ProduceSummary:
        self._thread.join(timeout)
        if self.error is not None:
            raise self.error
        assert self.summary is not None, f"producer still running after {timeout}s"
        return self.summary


class AlertTap:
    """Drains the alerts tap queue on a thread: every SNS alert delivered, by transaction id.

    Why drain during the run: the queue lives in the emulator's memory, so whatever sits in it
    when the emulator is killed is gone; reading as alerts arrive keeps that window to about a
    second. Errors (emulator down, queue not yet recreated) are retried.
    """

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self.alerts: Counter[str] = Counter()
        self.errors = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        sqs = client("sqs", self._settings)
        url: str | None = None
        while not self._stop.is_set():
            try:
                if url is None:
                    url = sqs.get_queue_url(QueueName=self._settings.alerts_tap_queue)["QueueUrl"]
                messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get(
                    "Messages", []
                )
                for message in messages:
                    body = json.loads(message["Body"])["Message"]
                    self.alerts[json.loads(body.splitlines()[-1])["transaction_id"]] += 1
                if messages:
                    sqs.delete_message_batch(
                        QueueUrl=url,
                        Entries=[
                            {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                            for i, m in enumerate(messages)
                        ],
                    )
            except Exception:
                self.errors += 1
                url = None
                self._stop.wait(0.5)

    def wait_for(self, ids: set[str], timeout: float) -> bool:
        """Poll until every id in ``ids`` was alerted; False at the deadline."""
        return poll(lambda: ids <= set(self.alerts), timeout, interval=0.5) is not None

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)


class DecisionCounter:
    """Reads the decisions topic from the beginning, no consumer group: every decision, replays too."""

    def __init__(self, settings: Settings) -> None:
        topic = settings.topic_decisions
        self._consumer = Consumer(consumer_config(settings, "chaos-decision-reader"))
        partitions = self._consumer.list_topics(topic, timeout=10).topics[topic].partitions
        self._consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions])
        self.decisions: Counter[str] = Counter()
        self.alerting: set[str] = set()
        self._alert_threshold = settings.scorer_alert_threshold

    def read(self, seconds: float = 0.5) -> None:
        """Count what arrives within ``seconds`` (one consume call: it returns once a batch is in)."""
        for message in self._consumer.consume(10_000, seconds):
            if message.error() is not None:
                continue
            decision = json.loads(message.value() or b"null")
            self.decisions[decision["transaction_id"]] += 1
            if decision["decision"] != "approve" and decision["score"] >= self._alert_threshold:
                self.alerting.add(decision["transaction_id"])

    def wait_for(self, ids: set[str], timeout: float) -> bool:
        """Poll until every id in ``ids`` was decided; False at the deadline."""

        def all_decided() -> bool:
            self.read()
            return ids <= set(self.decisions)

        return poll(all_decided, timeout, interval=0) is not None

    def missing(self, ids: set[str], settings: Settings) -> str:
        """Why ``ids`` are not all decided: how many, and whether a fresh read of the topic sees them."""
        gone = ids - set(self.decisions)
        fresh = DecisionCounter(settings)
        try:
            fresh.read(5.0)
        finally:
            fresh.close()
        return (
            f"{len(gone):,} of {len(ids):,} not decided (this reader saw {len(self.decisions):,} ids, "
            f"a fresh read of the topic {len(fresh.decisions):,}, "
            f"of them {len(gone & set(fresh.decisions)):,} of the missing)"
        )

    def close(self) -> None:
        self._consumer.close()


@dataclass
class Kill:
    """One SIGKILL on the timeline: what, when (seconds since the run's start), back when."""

    component: str
    at: float
    back: float | None = None
    note: str = ""


@dataclass
class EtlRun:
    """One ``fraudstack etl`` run: how it ended and its output's last line."""

    exit_code: int
    seconds: float
    last_line: str


@dataclass
class ChaosStack:
    """A stack of its own with the bridge and the scorer running; kill and restart by name."""

    settings: Settings
    log_dir: Path
    resources: list[Resource]
    stack: EmbeddedStack = field(init=False)
    started: float = field(default_factory=time.monotonic)
    kills: list[Kill] = field(default_factory=list)
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    etl_runs: list[EtlRun] = field(default_factory=list)
    marks: list[tuple[float, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.stack = EmbeddedStack(self.settings)

    # --- set-up ------------------------------------------------------------------------------
    @classmethod
    def create(
        cls, settings: Settings, log_dir: Path, kinds: Iterable[str] | None = STREAMING_KINDS
    ) -> ChaosStack:
        """Start the servers, deploy ``kinds`` of the declaration (all when None), create the topics."""
        wanted = None if kinds is None else set(kinds)
        resources = [r for r in declare(settings) if wanted is None or r.kind in wanted]
        chaos = cls(settings=settings, log_dir=log_dir, resources=resources)
        settings.state_path.mkdir(parents=True, exist_ok=True)
        settings.state_path.chmod(0o755)  # PostgreSQL runs as another user when run as root
        chaos.stack.up()
        try:
            deploy(settings, resources)
            ensure_topics(
                settings, [settings.topic_transactions, settings.topic_dead_letter, settings.topic_decisions]
            )
        except BaseException:
            chaos.stack.down()
            raise
        return chaos

    def clock(self) -> float:
        """Seconds since the run started (the timeline the kills and acks are noted on)."""
        return time.monotonic() - self.started

    def mark(self, text: str) -> None:
        """Note a step of the schedule on the timeline (printed with the kills)."""
        self.marks.append((self.clock(), text))

    def close(self) -> None:
        """Stop the bridge, the scorer and the servers (SIGTERM, then SIGKILL)."""
        for proc in self.procs.values():
            stop_process(proc, timeout=20)
        self.stack.down()

    # --- components ----------------------------------------------------------------------------
    def _spawn(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        return spawn_service(self.settings, self.log_dir / f"{name}.log", *args)

    def start_bridge(self) -> None:
        self.procs["bridge"] = self._spawn("bridge", "bridge", "--linger", "0.1", "--metrics-interval", "5")

    def start_scorer(self) -> None:
        self.procs["scorer"] = self._spawn(
            "scorer", "score", "--commit-interval", "0.2", "--metrics-interval", "5"
        )

    def log_tail(self, name: str, lines: int = 15) -> str:
        path = self.log_dir / f"{name}.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""

    def wait_for_log(self, name: str, text: str, timeout: float) -> None:
        """Poll ``name``'s log for ``text`` (e.g. the scorer's or bridge's partition assignment)."""
        path = self.log_dir / f"{name}.log"
        wait_until(
            lambda: path.exists() and text in path.read_text(errors="replace"),
            timeout,
            lambda: f"no {text!r} in the {name} log:\n{self.log_tail(name)}",
        )

    def dead(self) -> list[str]:
        """Components that are not running: exited processes and servers that do not answer."""
        gone = [name for name, proc in self.procs.items() if proc.poll() is not None]
        state = self.stack.status()
        return gone + [name for name, server in state.servers.items() if not server["healthy"]]

    # --- faults ----------------------------------------------------------------------------------
    def kill(self, component: str, note: str = "") -> Kill:
        """SIGKILL ``component`` (bridge, scorer, broker, emulator, postgres) and restart it.

        Servers come back through ``stack up`` (which waits until they answer and then runs its
        consistency check); after the emulator, ``deploy`` recreates what it kept in memory.
        """
        event = Kill(component, self.clock(), note=note)
        self.kills.append(event)
        if component in ("bridge", "scorer"):
            proc = self.procs[component]
            proc.kill()
            proc.wait()
            (self.start_bridge if component == "bridge" else self.start_scorer)()
        else:
            server = self.stack.servers[SERVERS[component]]
            server.kill()
            self._stack_up(server, event)
            if component == "emulator":
                deploy(self.settings, self.resources)
        event.back = self.clock()
        return event

    def _stack_up(self, server: ManagedServer, event: Kill) -> None:
        """``stack up`` until it succeeds, as an operator would retry it; failures go in the note.

        Why retries: a killed postmaster's backends are not in its process group (each calls
        setsid) and exit only once they notice it died; until then a new postmaster refuses the
        data directory ("Terminate any old server processes").
        """
        port = server.spec.port  # the kernel releases a killed listener's port within moments
        wait_until(lambda: port_is_free(port), 30, f"port {port} released", interval=0.05)
        errors: list[StackError] = []

        def up() -> bool:
            try:
                self.stack.up()
            except StackError as exc:
                errors.append(exc)
                return False
            return True

        if poll(up, 120, interval=1.0) is None:
            raise errors[-1]
        failures, first = len(errors), str(errors[0])[:120] if errors else ""
        if failures:
            retried = f"stack up failed {failures}x, first: {first}"
            event.note = f"{event.note}; {retried}" if event.note else retried

    # --- ETL ---------------------------------------------------------------------------------------
    def etl(
        self,
        name: str,
        kills: Sequence[str] = (),
        gap: float = 1.0,
        timeout: float = 600,
    ) -> EtlRun:
        """One ``fraudstack etl`` run (the Glue script, on a local Spark) to its end.

        With ``kills``: once this run's load is under way and uncommitted (:meth:`etl_loading`),
        SIGKILL each in order, ``gap`` seconds apart: ``"etl"`` (the job itself, with its Spark
        JVM and workers; a rerun is its restart) and/or ``"postgres"`` (restarted at once with
        ``stack up``). Each is noted on the timeline; none is sent if the run ended before its
        load began.
        """
        started = time.monotonic()
        since = self._server_time()
        proc = self._spawn(name, "etl")
        deadline = started + timeout
        try:
            if kills:
                wait_until(
                    lambda: proc.poll() is not None or self.etl_loading(since),
                    timeout,
                    lambda: f"{name} loading or ended:\n{self.log_tail(name)}",
                    interval=0.05,
                )
            for i, component in enumerate(kills if proc.poll() is None else ()):
                if i and gap:
                    time.sleep(gap)
                if component == "etl":
                    self.kills.append(Kill("etl", self.clock(), note=name))
                    tree = _descendants(proc.pid)
                    for pid in [proc.pid, *tree]:  # as a crash of the machine running it would
                        with contextlib.suppress(ProcessLookupError):
                            os.kill(pid, signal.SIGKILL)
                    self.kills[-1].back = self.clock()  # the rerun is the restart
                else:
                    self.kill(component, note=name)  # and back at once, as an operator would
            proc.wait(max(1.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            raise AssertionError(f"{name} still running after {timeout}s:\n{self.log_tail(name)}") from None
        finally:
            if proc.poll() is None:
                stop_process(proc, timeout=20)
        tail = self.log_tail(name, 40).splitlines()
        said = [ln for ln in tail if ln.startswith(("etl", "error")) or "Error" in ln] or tail or [""]
        run = EtlRun(proc.returncode, time.monotonic() - started, said[-1])
        self.etl_runs.append(run)
        return run

    def _server_time(self) -> Any:
        with connect(self.settings) as wh:
            return wh.query("SELECT clock_timestamp()")[0][0]

    def etl_loading(self, since: Any) -> bool:
        """An ETL run's load is under way and uncommitted: a batch is claimed (committed in
        ``etl_runs``) and a transaction begun after ``since`` holds a write (the staging copy
        and fact insert, open until the run's single commit). ``since`` leaves out a killed
        run's backend, which PostgreSQL ends only when its current statement does; client
        backends only, because an autovacuum ANALYZE holds a write transaction too."""
        try:
            with connect(self.settings) as wh:
                if not wh.query("SELECT to_regclass('etl_runs') IS NOT NULL")[0][0]:
                    return False
                if not wh.query("SELECT 1 FROM etl_runs WHERE status = 'running'"):
                    return False
                rows = wh.query(
                    "SELECT count(*) FROM pg_stat_activity WHERE backend_xid IS NOT NULL "
                    "AND backend_type = 'client backend' AND pid <> pg_backend_pid() "
                    "AND datname = current_database() AND xact_start > %s",
                    (since,),
                )
                return bool(rows[0][0])
        except Exception:
            return False

    # --- counting ----------------------------------------------------------------------------------
    def lake_ids(self) -> Counter[str]:
        """How often each transaction id is in the lake's raw/ objects (NDJSON, maybe gzip)."""
        import gzip

        s3 = client("s3", self.settings)
        seen: Counter[str] = Counter()
        for page in s3.get_paginator("list_objects_v2").paginate(
            Bucket=self.settings.bucket, Prefix=self.settings.raw_prefix
        ):
            for obj in page.get("Contents", []):
                body = s3.get_object(Bucket=self.settings.bucket, Key=obj["Key"])["Body"].read()
                if obj["Key"].endswith(".gz"):
                    body = gzip.decompress(body)
                for line in body.splitlines():
                    seen[json.loads(line)["transaction_id"]] += 1
        return seen

    def warehouse_ids(self, ids: Iterable[str]) -> Counter[str]:
        """``fact_transactions`` rows per id among ``ids``."""
        with connect(self.settings) as wh:
            rows = wh.query(
                "SELECT transaction_id, count(*) FROM fact_transactions "
                "WHERE transaction_id = ANY(%s) GROUP BY 1",
                (list(ids),),
            )
        return Counter({str(tid): int(n) for tid, n in rows})

    def holds_within(self, check: Callable[[], bool], timeout: float) -> bool:
        """Poll ``check`` until it holds; False at the deadline (callers assert or report)."""
        return poll(check, timeout, interval=1.0) is not None


def topic_ids(settings: Settings, topic: str, timeout: float = 300.0) -> tuple[Counter[str], str]:
    """Every transaction id on ``topic`` (read from the start, no group), and per partition its
    watermarks and the bridge's and the scorer's committed offsets: where an acked record that
    never reached the lake or the scorer went (not stored, or stored below a committed offset)."""
    reader = Consumer(consumer_config(settings, "chaos-topic-reader"))
    try:
        partitions = reader.list_topics(topic, timeout=10).topics[topic].partitions
        ends = {p: reader.get_watermark_offsets(TopicPartition(topic, p), timeout=10) for p in partitions}
        reader.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions])
        seen: Counter[str] = Counter()
        positions = {p: low for p, (low, _) in ends.items()}

        def read_to_the_ends() -> bool:
            for message in reader.consume(10_000, 0.5):
                if message.error() is None:
                    seen[json.loads(message.value() or b"null")["transaction_id"]] += 1
                    positions[message.partition() or 0] = (message.offset() or 0) + 1
            return all(positions[p] >= high for p, (_, high) in ends.items())

        if not all(positions[p] >= high for p, (_, high) in ends.items()):
            poll(read_to_the_ends, timeout, interval=0)  # short of the ends: the lines below say where
        committed: dict[str, dict[int, int]] = {}
        for group in (settings.bridge_group_id, settings.scorer_group_id):
            asker = Consumer(consumer_config(settings, group))
            try:
                answer = asker.committed([TopicPartition(topic, p) for p in partitions], timeout=10)
                committed[group] = {tp.partition: tp.offset for tp in answer}
            finally:
                asker.close()
    finally:
        reader.close()
    lines = [
        f"  partition {p}: offsets {low}..{high}, read to {positions[p]}, committed: "
        + ", ".join(f"{group} {committed[group].get(p)}" for group in committed)
        for p, (low, high) in sorted(ends.items())
    ]
    return seen, "\n".join(lines)


def settle(seen: Callable[[], set[str]], expected: set[str], quiet: float, timeout: float) -> bool:
    """Poll a stage until it holds every expected id (True) or has not changed for ``quiet``
    seconds, or ``timeout`` passed (False): after a loss, waiting for completeness would wait
    forever, so a stage that stopped moving is settled, and the count shows what it lacks."""
    last: set[str] = set()
    changed = time.monotonic()
    outcome: list[bool] = []

    def decided() -> bool:
        nonlocal last, changed
        now = seen()
        if expected <= now:
            outcome.append(True)
        elif now != last:
            last, changed = now, time.monotonic()
        elif time.monotonic() - changed >= quiet:
            outcome.append(False)
        return bool(outcome)

    poll(decided, timeout, interval=1.0)
    return bool(outcome) and outcome[0]


@dataclass
class Counts:
    """Every stage's view of the same transactions, by id (repeats counted)."""

    produced: set[str]
    acked: dict[str, float]
    lake: Counter[str]
    warehouse: Counter[str]
    decisions: Counter[str]
    alert_expected: set[str]
    alerts: Counter[str]

    @staticmethod
    def repeats(counter: Counter[str]) -> int:
        return sum(n - 1 for n in counter.values() if n > 1)

    def lost(self) -> dict[str, set[str]]:
        """Missing ids by the stage where they went missing."""
        acked = set(self.acked)
        lake = set(self.lake)
        return {
            "produced, not acked": self.produced - acked,
            "acked, not in the lake (Kafka -> bridge -> Kinesis -> Firehose -> S3)": acked - lake,
            "in the lake, not in the warehouse (ETL)": lake - set(self.warehouse),
            "acked, not decided (scorer)": acked - set(self.decisions),
            "alerting decision, no alert delivered (SNS)": self.alert_expected - set(self.alerts),
            "in the lake, never acked (unknown origin)": lake - acked,
        }

    def table(self) -> str:
        """The chaos table: one row per stage, with losses against the stage it reads from."""
        acked = set(self.acked)
        rows = [
            ("produced (attempted)", len(self.produced), "-", "-", "-"),
            ("acked by the broker", len(acked), f"{len(self.produced - acked):,}", "0", "producer"),
            (
                "lake raw/ (by transaction_id)",
                len(self.lake),
                f"{len(acked - set(self.lake)):,}",
                f"{self.repeats(self.lake):,}",
                "vs acked",
            ),
            (
                "warehouse fact_transactions",
                len(self.warehouse),
                f"{len(set(self.lake) - set(self.warehouse)):,}",
                f"{self.repeats(self.warehouse):,}",
                "vs lake",
            ),
            (
                "scorer decisions",
                len(self.decisions),
                f"{len(acked - set(self.decisions)):,}",
                f"{self.repeats(self.decisions):,}",
                "vs acked",
            ),
            (
                "scorer alerts delivered (SNS -> tap)",
                len(self.alerts),
                f"{len(self.alert_expected - set(self.alerts)):,}",
                f"{self.repeats(self.alerts):,}",
                f"vs {len(self.alert_expected):,} alerting decisions",
            ),
        ]
        lines = [
            "| stage | distinct ids | lost | duplicates | compared with |",
            "|---|---|---|---|---|",
            *(f"| {name} | {count:,} | {lost} | {dups} | {ref} |" for name, count, lost, dups, ref in rows),
        ]
        return "\n".join(lines)


def where_lost(missing: set[str], acked: dict[str, float], kills: list[Kill]) -> str:
    """When the missing ids were acked, and the kills that followed: one of those lost them.

    Not simply the kill just before: a stage that lags (the bridge behind the producer, the
    scorer behind the topic) loses what it had in hand at a kill tens of seconds after the ack.
    """
    if not missing:
        return "none"
    times = sorted(acked[i] for i in missing if i in acked)
    if not times:
        return f"{len(missing):,} (never acked)"
    after = [f"{k.component} at {k.at:.1f}s" for k in kills if k.at >= times[0]][:3]
    return f"{len(missing):,} acked between {times[0]:.1f}s and {times[-1]:.1f}s" + (
        f"; kills after the first: {', '.join(after)}" if after else "; no kill after them"
    )


def timeline(kills: list[Kill], marks: Sequence[tuple[float, str]] = ()) -> str:
    """The schedule as it happened: kills (and when each component was back) and noted steps."""
    entries = [(at, f"{text}") for at, text in marks]
    for k in kills:
        back = f"back at {k.back:6.1f}s" if k.back is not None else "not back"
        entries.append((k.at, f"kill -9 {k.component:<8} {back}" + (f"  ({k.note})" if k.note else "")))
    return "\n".join(f"  {at:6.1f}s  {text}" for at, text in sorted(entries))


def _descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (Spark's JVM and its Python workers, for the ETL)."""
    try:
        children = [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []
    return [pid for child in children for pid in (child, *_descendants(child))]


def simulated_events(count: int, seed: int = 11) -> list[dict[str, Any]]:
    """``count`` simulated transactions (5% fraud, so the scorer reviews, declines and alerts)."""
    from itertools import islice

    from fraudstack.simulator import SimulationConfig
    from fraudstack.simulator.stream import iter_events

    days = max(2, count // 1200 + 2)  # ~2.2 transactions per customer and day
    config = SimulationConfig(customers=600, days=days, fraud_rate=0.05, seed=seed)
    events = list(islice(iter_events(config), count))
    if len(events) < count:
        raise ValueError(f"the simulation gave {len(events)} events, not {count}")
    return events
