"""The Kafka -> Kinesis bridge: at-least-once, with a dead-letter topic for bad records.

It also carries the ``labels`` topic (:mod:`fraudstack.labels`) into the lake: label events
are few (about one per fraud, days after it), so each batch's valid labels become one
newline-delimited JSON object under ``labels/YYYY/MM/DD/HH/`` (the hour they arrived, as
Firehose partitions ``raw/``), which the ETL loads into ``fact_labels``. Riding on the bridge
gives them the same at-least-once commit discipline and runs wherever the bridge runs, with
no second stream to provision; an invalid label is dead-lettered like an invalid transaction.

Flow per batch: consume up to 500 records (or 5 MiB, or whatever arrived within
``linger`` seconds), validate each with :func:`fraudstack.schema.validate_event`, put the
valid ones into Kinesis (partition key = ``card_id``; see :class:`KinesisSink` for limits
and retries), produce the invalid ones to the dead-letter topic, and only when both are
durable commit the batch's offsets. A crash at any point therefore replays records rather
than losing them; the lake may hold duplicates, which the ETL removes by ``transaction_id``.

What goes to Kinesis is the record's JSON followed by ``\\n`` so that Firehose objects are
newline-delimited JSON (Firehose itself adds no delimiter on AWS). A record in the
producers' canonical form (:mod:`fraudstack.wire`) is kept byte for byte; any other valid
spelling is re-encoded canonically (see :func:`_for_kinesis`).

Dead-letter records keep the original key and value bytes; their headers are described in
:mod:`fraudstack.kafka.dead_letters`. A record whose validation or transformation raises
(a poison pill, not an invalid record the validator names) is dead-lettered too, with the
exception as its reason, and counted (``PoisonPills``): otherwise it would stop the bridge,
and a restart would read it and stop again. Kinesis and broker failures are not guarded:
they stop the bridge with the batch uncommitted, since replaying it loses nothing.

Shutdown: :meth:`Bridge.run` returns once ``stop`` is set, after finishing and committing
the batch in hand; a rebalance does the same before partitions are given away.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, Producer, TopicPartition

from fraudstack import aws
from fraudstack.errors import FraudstackError, StackError
from fraudstack.ingestion.kinesis import MAX_BYTES_PER_RECORD, KinesisBatch, KinesisSink, record_size
from fraudstack.kafka.config import consumer_config, producer_config
from fraudstack.kafka.dead_letters import dead_letter_headers, poison_reason
from fraudstack.kafka.topics import ensure_topics
from fraudstack.labels import label_to_json_bytes, validate_label
from fraudstack.observability import MetricsPublisher
from fraudstack.schema import event_to_json_bytes, validate_event
from fraudstack.settings import Settings
from fraudstack.wire import parse_event

log = logging.getLogger(__name__)


class BridgeError(FraudstackError):
    """The bridge cannot go on without risking loss (e.g. the dead-letter topic rejects writes)."""


@dataclass
class _Pending:
    """The batch in hand: Kinesis entries, dead letters, and the offsets they cover."""

    kinesis: KinesisBatch = field(default_factory=KinesisBatch)
    labels: list[bytes] = field(default_factory=list)  # canonical JSON lines for the lake
    timestamps_ms: list[int] = field(default_factory=list)
    dead_letters: int = 0
    poison_pills: int = 0  # of the dead letters
    offsets: dict[tuple[str, int], int] = field(default_factory=dict)
    started: float = 0.0

    def __len__(self) -> int:
        return len(self.kinesis) + len(self.labels) + self.dead_letters


@dataclass
class BridgeStats:
    """Totals since start (also published as metrics)."""

    consumed: int = 0
    forwarded: int = 0
    labels_forwarded: int = 0
    dead_lettered: int = 0
    poison_pills: int = 0
    batches: int = 0
    commits_failed: int = 0


class Bridge:
    """One bridge process: a member of the consumer group ``settings.bridge_group_id``."""

    def __init__(
        self,
        settings: Settings,
        metrics: MetricsPublisher | None = None,
        linger: float = 0.2,
        kinesis: Any | None = None,
    ) -> None:
        self.settings = settings
        self.metrics = metrics
        self.linger = linger
        self.stats = BridgeStats()
        self._stop = threading.Event()
        client = kinesis if kinesis is not None else aws.client("kinesis", settings)
        self._check_stream(client)
        self._sink = KinesisSink(client, settings.kinesis_stream, metrics=metrics)
        self._s3 = aws.client("s3", settings)
        ensure_topics(
            settings, [settings.topic_transactions, settings.topic_labels, settings.topic_dead_letter]
        )
        self._consumer = Consumer(
            consumer_config(settings, settings.bridge_group_id, client_id="fraudstack-bridge")
        )
        self._dlq = Producer(producer_config(settings, client_id="fraudstack-bridge-dlq", **{"linger.ms": 5}))
        self._dlq_errors: list[str] = []
        self._pending = _Pending()
        self._active: float | None = None  # last time records arrived or partitions were assigned

    def _check_stream(self, kinesis: Any) -> None:
        try:
            kinesis.describe_stream_summary(StreamName=self.settings.kinesis_stream)
        except kinesis.exceptions.ResourceNotFoundException:
            raise StackError(
                f"Kinesis stream {self.settings.kinesis_stream} does not exist: run `fraudstack deploy` first"
            ) from None

    # --- main loop -------------------------------------------------------------------------------
    def run(self, stop: threading.Event | None = None, exit_when_idle: float | None = None) -> BridgeStats:
        """Forward records until ``stop`` is set.

        With ``exit_when_idle``, also return once partitions are assigned and no record
        arrived for that many seconds (drain-and-exit runs, benchmarks).
        """
        if stop is not None:
            self._stop = stop
        self._consumer.subscribe(
            [self.settings.topic_transactions, self.settings.topic_labels],
            on_assign=self._on_assign,
            on_revoke=self._on_revoke,
            on_lost=self._on_lost,
        )
        log.info(
            "bridge started",
            extra={
                "topic": self.settings.topic_transactions,
                "stream": self.settings.kinesis_stream,
                "group": self.settings.bridge_group_id,
            },
        )
        try:
            while not self._stop.is_set():
                if self._fill():
                    self._active = time.monotonic()
                if self._due():
                    self._flush()
                elif (
                    exit_when_idle is not None
                    and not self._pending
                    and self._active is not None
                    and time.monotonic() - self._active >= exit_when_idle
                ):
                    break
            self._flush()
        finally:
            self._consumer.close()  # leaves the group at once: partitions move without a timeout
            self._dlq.flush(30)
        log.info("bridge stopped", extra=vars(self.stats))
        return self.stats

    def _fill(self) -> int:
        """Consume into the pending batch until it is full or ``linger`` passes; return how many."""
        room = 500 - len(self._pending.kinesis)
        timeout = (
            self.linger
            if not self._pending
            else max(0.0, self._pending.started + self.linger - time.monotonic())
        )
        messages = self._consumer.consume(num_messages=max(room, 1), timeout=timeout)
        for message in messages:
            error = message.error()
            if error is not None:
                if error.fatal():
                    raise KafkaException(error)
                log.warning("consumer error", extra={"error": error.str()})
                continue
            self._take(message)
        return len(messages)

    def _due(self) -> bool:
        pending = self._pending
        if not pending:
            return False
        return pending.kinesis.full or time.monotonic() - pending.started >= self.linger

    # --- per record ------------------------------------------------------------------------------
    def _take(self, message: Message) -> None:
        self.stats.consumed += 1
        is_label = message.topic() == self.settings.topic_labels
        try:
            outcome = _for_lake(message.value()) if is_label else _for_kinesis(message.value())
        except Exception as exc:  # only the record is involved here: no broker or AWS call
            log.error(
                "poison pill",
                exc_info=exc,
                extra={"partition": message.partition(), "offset": message.offset()},
            )
            outcome = poison_reason(exc)
            self._pending.poison_pills += 1
        if isinstance(outcome, str):
            self._dead_letter(message, outcome)
        elif isinstance(outcome, bytes):
            self._pending.labels.append(outcome)
        else:
            data, key = outcome
            if not self._pending.kinesis.fits(data, key):
                self._flush()  # the call is full by size: send it; this record starts the next
            self._pending.kinesis.add(data, key)
            self._pending.timestamps_ms.append(message.timestamp()[1])
        pending = self._pending
        if not pending.offsets:
            pending.started = time.monotonic()
        topic, partition, offset = message.topic(), message.partition(), message.offset()
        assert topic is not None and partition is not None and offset is not None
        pending.offsets[(topic, partition)] = offset

    def _dead_letter(self, message: Message, reason: str) -> None:
        self._produce_dead_letter(message.key(), message.value(), dead_letter_headers(message, reason))
        self._pending.dead_letters += 1
        log.warning(
            "record dead-lettered",
            extra={"reason": reason, "partition": message.partition(), "offset": message.offset()},
        )

    def _produce_dead_letter(
        self, key: bytes | None, value: bytes | None, headers: list[tuple[str, str | bytes | None]]
    ) -> None:
        def delivered(err: KafkaError | None, _msg: Message) -> None:
            if err is not None:
                self._dlq_errors.append(err.str())

        while True:
            try:
                self._dlq.produce(
                    self.settings.topic_dead_letter,
                    value=value,
                    key=key,
                    headers=headers,
                    on_delivery=delivered,
                )
                return
            except BufferError:
                self._dlq.poll(0.05)

    # --- completing a batch ------------------------------------------------------------------------
    def _flush(self) -> None:
        """Make the pending batch durable (Kinesis + dead-letter topic), then commit its offsets."""
        pending = self._pending
        if not pending:
            return
        if pending.kinesis.entries:
            self._sink.put(pending.kinesis.entries, self._stop)
        if pending.labels:
            self._put_labels(pending.labels)
        if pending.dead_letters:
            unconfirmed = self._dlq.flush(60)
            if unconfirmed or self._dlq_errors:
                raise BridgeError(
                    f"the dead-letter topic {self.settings.topic_dead_letter} did not confirm "
                    f"{unconfirmed or len(self._dlq_errors)} records ({'; '.join(self._dlq_errors[:3])}); "
                    "offsets left uncommitted so they are replayed on restart"
                )
        self._commit(pending.offsets)
        self._account(pending)
        self._pending = _Pending()

    def _put_labels(self, lines: list[bytes]) -> None:
        """One lake object for the batch's labels; a replayed batch writes another (the load dedupes)."""
        now = datetime.now(UTC)
        name = f"labels-{now:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:12]}.ndjson"
        key = f"{self.settings.labels_prefix}{now:%Y/%m/%d/%H}/{name}"
        self._s3.put_object(
            Bucket=self.settings.bucket, Key=key, Body=b"".join(lines), ContentType="application/x-ndjson"
        )

    def _commit(self, offsets: dict[tuple[str, int], int]) -> None:
        positions = [
            TopicPartition(topic, partition, offset + 1) for (topic, partition), offset in offsets.items()
        ]
        try:
            self._consumer.commit(offsets=positions, asynchronous=False)
        except KafkaException as exc:
            # The records are already in Kinesis; an uncommitted offset only means replay
            # (duplicates the ETL removes), never loss. Keep going.
            self.stats.commits_failed += 1
            log.warning("offset commit failed; records may be replayed", extra={"error": exc.args[0].str()})

    def _account(self, pending: _Pending) -> None:
        forwarded = len(pending.kinesis)
        self.stats.forwarded += forwarded
        self.stats.labels_forwarded += len(pending.labels)
        self.stats.dead_lettered += pending.dead_letters
        self.stats.poison_pills += pending.poison_pills
        self.stats.batches += 1
        if self.metrics is None:
            return
        self.metrics.count("RecordsIn", forwarded + len(pending.labels) + pending.dead_letters)
        self.metrics.count("RecordsOut", forwarded)
        if pending.labels:
            self.metrics.count("LabelsOut", len(pending.labels))
        self.metrics.count("DeadLettered", pending.dead_letters)
        if pending.poison_pills:
            self.metrics.count("PoisonPills", pending.poison_pills)
        now_ms = time.time() * 1000.0
        self.metrics.observe_many("EndToEndLatency", (now_ms - ts for ts in pending.timestamps_ms if ts > 0))

    # --- rebalancing ------------------------------------------------------------------------------
    def _on_assign(self, _consumer: Consumer, partitions: list[TopicPartition]) -> None:
        log.info("partitions assigned", extra={"partitions": [p.partition for p in partitions]})
        self._active = time.monotonic()

    def _on_revoke(self, _consumer: Consumer, partitions: list[TopicPartition]) -> None:
        """Finish the batch while we still own its partitions, so the next owner starts after it."""
        log.info("partitions revoked", extra={"partitions": [p.partition for p in partitions]})
        self._flush()

    def _on_lost(self, _consumer: Consumer, partitions: list[TopicPartition]) -> None:
        """Ownership already moved: the new owner replays the batch, so drop it here."""
        log.warning(
            "partitions lost; dropping the batch in hand",
            extra={"partitions": [p.partition for p in partitions]},
        )
        self._pending = _Pending()


def _for_kinesis(value: bytes | None) -> tuple[bytes, str] | str:
    """(data, partition key) to put for a record, or the reason it goes to the dead-letter topic.

    A record in the producers' canonical form travels as it is; a valid record in any other
    spelling is re-encoded canonically, so every reader downstream (Spark's JSON reader
    included) sees exactly the values the schema validated.
    """
    if value is None:
        return "empty record (no value)"
    event = parse_event(value)
    if event is not None:
        data, key = value, str(event["card_id"])
    else:
        result = validate_event(value)
        if result.event is None:
            return result.reason or "invalid record"
        data, key = event_to_json_bytes(result.event), result.event.card_id
    data += b"\n"
    if record_size(data, key) > MAX_BYTES_PER_RECORD:
        return f"record of {len(data)} bytes exceeds the Kinesis limit of {MAX_BYTES_PER_RECORD}"
    return data, key


def _for_lake(value: bytes | None) -> bytes | str:
    """The canonical JSON line of a label record, or the reason it goes to the dead-letter topic."""
    if value is None:
        return "empty record (no value)"
    result = validate_label(value)
    if result.label is None:
        return result.reason or "invalid label"
    return label_to_json_bytes(result.label) + b"\n"
