"""Ship transaction events to the Kafka ``transactions`` topic.

Keyed by ``card_id`` so one card's events land in one partition and stay in order (the
scorer's per-card features depend on it). The producer is idempotent with ``acks=all``
(see :func:`fraudstack.kafka.config.producer_config`): its own retries neither duplicate
nor reorder records. A record counts as *sent* only when the broker acknowledged it; the
summary's *failed* are records the broker rejected or that timed out.
"""

from __future__ import annotations

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
    seconds: float = 0.0
    errors: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.sent / self.seconds if self.seconds > 0 else 0.0


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
) -> ProduceSummary:
    """Produce ``events`` until they run out, ``count`` are attempted, ``duration`` passes or ``stop``.

    The producer is connected (:func:`connect`) before the run's clock and pacing start.
    Blocks at the end until every record is acknowledged or failed (``flush_timeout``);
    records still unconfirmed then are counted as failed. ``on_progress`` is called about
    every 1000 records and once at the end. Records are keyed by ``key_field`` (the card for
    transactions, so one card's events stay in order; the transaction for label events).
    """
    target = topic or settings.topic_transactions
    client = producer or Producer(producer_config(settings))
    connect(client, target)
    summary = ProduceSummary()
    started = time.monotonic()
    deadline = started + duration if duration is not None else None
    pacer = Pacer(rate, idle=lambda seconds: client.poll(seconds))
    latency = _LatencyWindow()

    def delivered(err: KafkaError | None, msg: Message) -> None:
        if err is not None:
            summary.failed += 1
            if len(summary.errors) < _MAX_ERRORS_KEPT:
                summary.errors.append(err.str())
            return
        summary.sent += 1
        latency.add(msg.latency() or 0.0)

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
            while True:
                try:
                    client.produce(target, value=value, key=key.encode(), on_delivery=delivered)
                    break
                except BufferError:  # local queue full: let deliveries drain it
                    client.poll(0.05)
            summary.attempted += 1
            if summary.attempted % 1000 == 0:
                client.poll(0)
                report()
    finally:
        unconfirmed = client.flush(flush_timeout)
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
