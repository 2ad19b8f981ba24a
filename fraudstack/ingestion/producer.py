"""Ship transaction events to the Kafka ``transactions`` topic.

Keyed by ``card_id`` so one card's events land in one partition and stay in order (the
scorer's per-card features depend on it). The producer is idempotent with ``acks=all``
(see :func:`fraudstack.kafka.config.producer_config`): its own retries neither duplicate
nor reorder records. A record counts as *sent* only when the broker acknowledged it; the
summary's *failed* are records the broker rejected or that timed out.

Records that librdkafka gave up on with a broker error that passes once the stack is back
(:data:`RESENT_ERRORS`) are produced again, with backoff, for up to ``retry_for`` seconds
after their first failure. Why: Tansu on S3 storage answers UNKNOWN_SERVER_ERROR while the
AWS emulator restarts, which librdkafka does not retry, and ``fraudstack produce`` then
dropped the record (306 in ``bench/bench_chaos.py``). A resent record is a new record to
the broker: at-least-once (the sinks dedupe on ``transaction_id``), and it lands behind
records of its card produced after it, so a card's order can change around a restart.
"""

from __future__ import annotations

import functools
import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import KafkaError, KafkaException, Message, Producer

from fraudstack.errors import StackError
from fraudstack.kafka.config import producer_config
from fraudstack.observability import MetricsPublisher
from fraudstack.schema import TransactionEvent, event_to_json_bytes
from fraudstack.settings import Settings

log = logging.getLogger(__name__)

Event = TransactionEvent | Mapping[str, Any]
_MAX_ERRORS_KEPT = 5


@dataclass
class ProduceSummary:
    """What one run did. ``attempted == sent + failed`` once :func:`produce_events` returns."""

    attempted: int = 0
    sent: int = 0
    failed: int = 0
    resent: int = 0
    seconds: float = 0.0
    errors: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.sent / self.seconds if self.seconds > 0 else 0.0


#: Delivery errors that are produced again (:func:`produce_events`' ``retry_for``): the broker
#: failed for a reason of the moment (UNKNOWN_SERVER_ERROR is Tansu's answer while its S3
#: storage is down; librdkafka treats it as final), or the record timed out in the client.
RESENT_ERRORS = frozenset(
    {
        KafkaError.UNKNOWN,
        KafkaError.REQUEST_TIMED_OUT,
        KafkaError._MSG_TIMED_OUT,
        KafkaError._TIMED_OUT,
        KafkaError._TRANSPORT,
        KafkaError.NETWORK_EXCEPTION,
        KafkaError.KAFKA_STORAGE_ERROR,
        KafkaError.NOT_ENOUGH_REPLICAS,
        KafkaError.NOT_ENOUGH_REPLICAS_AFTER_APPEND,
        KafkaError.LEADER_NOT_AVAILABLE,
        KafkaError.NOT_LEADER_FOR_PARTITION,
    }
)
#: Backoff between attempts of one record: doubles from the first, up to the last.
_RESEND_BACKOFF_S = (0.5, 5.0)


@dataclass(order=True)
class _Resend:
    """A record waiting to be produced again (ordered by when it is due)."""

    due: float
    order: int
    value: bytes = field(compare=False)
    key: bytes | None = field(compare=False)
    attempt: int = field(compare=False)
    give_up_at: float = field(compare=False)
    error: str = field(compare=False)


#: librdkafka's retry interval for requesting the idempotent producer's id.
_PRODUCER_ID_TIMER_S = 0.5
#: The shortest wait a librdkafka ``poll`` honours.
_MIN_IDLE_S = 0.001


class Pacer:
    """Holds a loop to ``rate`` iterations per second (``None``: as fast as possible).

    Schedules the i-th item at ``start + i / rate`` rather than sleeping a fixed gap, so
    sleep overshoot does not accumulate into a lower rate. Never idles for less than a
    millisecond: librdkafka's ``poll`` counts whole milliseconds, so a shorter wait returns at
    once and the loop would spin a core (above 1,000 items/s the items go out in small bursts).
    """

    def __init__(
        self,
        rate: float | None,
        idle: Callable[[float], object] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rate = rate
        self._idle = idle
        self._clock = clock
        self._start = clock()
        self._count = 0

    def wait(self) -> None:
        if self.rate is None:
            return
        due = self._start + self._count / self.rate
        self._count += 1
        while (ahead := due - self._clock()) > 0:
            self._idle(min(max(ahead, _MIN_IDLE_S), 0.05))


def connect(producer: Producer, topic: str, timeout: float = 10.0) -> None:
    """Fetch ``topic``'s metadata and let the idempotent producer get its id, before any record.

    Why: librdkafka connects lazily, and records produced before it knows the partition
    leaders and holds a producer id wait in its queue; their timestamps (taken at
    ``produce``) and delivery latency then include the connection: the first records'
    produce -> ack latency was many times that of every record after them. The metadata
    comes with ``list_topics``; the id
    is requested on a 500 ms timer from the producer's creation when no broker was up then
    (always, for a new producer), and nothing public reports it, so the producer serves its
    callbacks for that long. Raises :class:`StackError` when the broker does not answer.
    """
    try:
        producer.list_topics(topic, timeout=timeout)
    except KafkaException as exc:
        raise StackError(
            f"cannot reach Kafka for topic {topic}: {exc.args[0].str()}; "
            "start it with `fraudstack stack up` or set KAFKA_BOOTSTRAP_SERVERS"
        ) from None
    until = time.monotonic() + _PRODUCER_ID_TIMER_S
    while (left := until - time.monotonic()) > 0:
        producer.poll(left)  # returns early when it served a callback


def produce_events(
    settings: Settings,
    events: Iterable[Event],
    *,
    rate: float | None = None,
    count: int | None = None,
    duration: float | None = None,
    metrics: MetricsPublisher | None = None,
    on_progress: Callable[[ProduceSummary], None] | None = None,
    stop: threading.Event | None = None,
    producer: Producer | None = None,
    topic: str | None = None,
    key_field: str = "card_id",
    flush_timeout: float = 300.0,
    retry_for: float = 120.0,
) -> ProduceSummary:
    """Produce ``events`` until they run out, ``count`` are attempted, ``duration`` passes or ``stop``.

    The producer is connected (:func:`connect`) before the run's clock and pacing start.
    Blocks at the end until every record is acknowledged or failed (``flush_timeout``);
    records still unconfirmed then are counted as failed. ``on_progress`` is called about
    every 1000 records and once at the end. Records are keyed by ``key_field`` (the card for
    transactions, so one card's events stay in order; the transaction for label events).
    A record that failed with one of :data:`RESENT_ERRORS` is produced again (backoff 0.5 s
    doubling to 5 s) until ``retry_for`` seconds after its first failure, within
    ``flush_timeout`` at the end; only then is it counted as failed. ``summary.resent``
    counts the attempts.
    """
    target = topic or settings.topic_transactions
    client = producer or Producer(producer_config(settings))
    connect(client, target)
    summary = ProduceSummary()
    started = time.monotonic()
    deadline = started + duration if duration is not None else None
    pacer = Pacer(rate, idle=lambda seconds: client.poll(seconds))
    latency = _LatencyWindow()
    resends: list[_Resend] = []  # a heap by due time
    numbering = itertools.count()

    def fail(error: str) -> None:
        summary.failed += 1
        if len(summary.errors) < _MAX_ERRORS_KEPT:
            summary.errors.append(error)

    def delivered(err: KafkaError | None, msg: Message, previous: _Resend | None = None) -> None:
        if err is None:
            summary.sent += 1
            latency.add(msg.latency() or 0.0)
            return
        now = time.monotonic()
        give_up_at = previous.give_up_at if previous is not None else now + retry_for
        if err.code() not in RESENT_ERRORS or now >= give_up_at:
            fail(err.str())
            return
        attempt = previous.attempt + 1 if previous is not None else 1
        backoff = min(_RESEND_BACKOFF_S[0] * 2 ** (attempt - 1), _RESEND_BACKOFF_S[1])
        value = msg.value() or b""
        entry = _Resend(now + backoff, next(numbering), value, msg.key(), attempt, give_up_at, err.str())
        heapq.heappush(resends, entry)

    def resend_due() -> None:
        now = time.monotonic()
        while resends and resends[0].due <= now:
            entry = heapq.heappop(resends)
            summary.resent += 1
            send(entry.value, entry.key, functools.partial(delivered, previous=entry))

    def send(value: bytes, key: bytes | None, callback: Callable[[KafkaError | None, Message], None]) -> None:
        while True:
            try:
                client.produce(target, value=value, key=key, on_delivery=callback)
                return
            except BufferError:  # local queue full: let deliveries drain it
                client.poll(0.05)

    def report() -> None:
        summary.seconds = time.monotonic() - started
        if metrics is not None:
            latency.publish(metrics, summary)
        if on_progress is not None:
            on_progress(summary)

    try:
        for event in events:
            if (count is not None and summary.attempted >= count) or (stop is not None and stop.is_set()):
                break
            if deadline is not None and time.monotonic() >= deadline:
                break
            pacer.wait()
            value = event_to_json_bytes(event)
            key = str(getattr(event, key_field) if isinstance(event, TransactionEvent) else event[key_field])
            send(value, key.encode(), delivered)
            if resends:
                resend_due()
            summary.attempted += 1
            if summary.attempted % 1000 == 0:
                client.poll(0)
                report()
    finally:
        unconfirmed = _flush_resending(client, resends, resend_due, flush_timeout)
        for entry in resends:  # past the flush timeout
            fail(f"{entry.error} (after {entry.attempt} attempts)")
        summary.failed += unconfirmed
        if unconfirmed and len(summary.errors) < _MAX_ERRORS_KEPT:
            summary.errors.append(f"{unconfirmed} records unconfirmed after {flush_timeout:.0f}s")
        report()
    log.info(
        "produce finished",
        extra={
            "sent": summary.sent,
            "failed": summary.failed,
            "seconds": round(summary.seconds, 3),
            "topic": target,
        },
    )
    return summary


def _flush_resending(
    client: Producer, resends: list[_Resend], resend_due: Callable[[], None], timeout: float
) -> int:
    """Flush, producing failed records again as they fall due, until none is left or ``timeout``.

    Returns the records still unconfirmed in the client; ``resends`` keeps those not sent again.
    """
    deadline = time.monotonic() + timeout
    while True:
        until = min(deadline, resends[0].due) if resends else deadline
        unconfirmed = int(client.flush(max(until - time.monotonic(), 0.0)))
        if time.monotonic() >= deadline or not (resends or unconfirmed):
            return unconfirmed
        if resends and not unconfirmed:  # nothing in flight: a flush would return at once
            time.sleep(max(min(deadline, resends[0].due) - time.monotonic(), 0.0))
        resend_due()


class _LatencyWindow:
    """Delivery latencies since the last report, folded into one metric observation.

    Why not observe per record: the delivery callback runs ~10^5 times a second; one
    weighted observation per report keeps the publisher's lock out of the hot path.
    """

    def __init__(self) -> None:
        self.count = 0
        self.total = 0.0
        self.reported_sent = 0
        self.reported_failed = 0

    def add(self, seconds: float) -> None:
        self.count += 1
        self.total += seconds

    def publish(self, metrics: MetricsPublisher, summary: ProduceSummary) -> None:
        if self.count:
            metrics.observe("DeliveryLatency", self.total / self.count * 1000.0, weight=self.count)
        metrics.count("RecordsOut", summary.sent - self.reported_sent)
        metrics.count("Failures", summary.failed - self.reported_failed)
        self.count, self.total = 0, 0.0
        self.reported_sent, self.reported_failed = summary.sent, summary.failed
