"""A watchdog for partitions a consumer owns but no longer fetches.

Why: after the embedded broker's storage fails under it (the emulator's S3 killed while the
broker runs on ``s3`` storage, or the broker killed while a consumer is joining), librdkafka
can leave assigned partitions without a fetch for good: the consumer stays in its group,
polls and heartbeats, while the partitions' records pile up unread, and no error reaches the
application (the chaos test saw one scorer partition stop ~640 records short; the chaos bench
a restarted scorer that consumed nothing for 10 minutes).

Whether records lie beyond a position cannot be asked of Tansu 0.6's high watermark (it
answered 1 for a partition holding 10). So a partition silent for ``after`` seconds is
probed: a separate, group-less consumer reads at the position the application expects, on
a worker thread (the poll loop never waits for it). A record there means the partition is
stalled, not idle. The first cure is a seek to that position, which restarts the partition's
fetcher; a partition still stalled at the same position on the next probe raises
:class:`PartitionsStalled`, for the service to start again with a new consumer
(:func:`fraudstack.cli.service.run_restarting`): nothing is committed beyond what was done,
so nothing is lost.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor

from confluent_kafka import Consumer, KafkaException, TopicPartition

from fraudstack.errors import FraudstackError
from fraudstack.kafka.config import consumer_config
from fraudstack.settings import Settings

log = logging.getLogger(__name__)

#: How long a probe waits for a record at each silent position.
PROBE_SECONDS = 5.0

Probe = Callable[[Mapping[int, int]], set[int]]


class PartitionsStalled(FraudstackError):
    """Owned partitions hold records the consumer does not fetch, even after a seek."""


def probe_with_consumer(settings: Settings, topic: str, seconds: float = PROBE_SECONDS) -> Probe:
    """A probe: which of ``{partition: offset}`` have a record at that offset (a fresh consumer,
    assigned without joining any group, so the real consumer's group never notices)."""

    def probe(positions: Mapping[int, int]) -> set[int]:
        consumer = Consumer(
            consumer_config(
                settings,
                f"stall-probe-{uuid.uuid4().hex[:8]}",
                client_id="fraudstack-probe",
                # Beyond Tansu's lagging high watermark is "out of range": an error, never a
                # jump to the earliest record that would read as a record at the position. A
                # long fetch wait: Tansu answers nothing to a fetch its storage read outlasts.
                **{"auto.offset.reset": "error", "fetch.wait.max.ms": 1000},
            )
        )
        try:
            consumer.assign([TopicPartition(topic, p, offset) for p, offset in positions.items()])
            found: set[int] = set()
            deadline = time.monotonic() + seconds
            while len(found) < len(positions) and (left := deadline - time.monotonic()) > 0:
                for message in consumer.consume(len(positions), min(left, 0.5)):
                    partition, offset = message.partition(), message.offset()
                    if message.error() or partition is None or offset is None or partition not in positions:
                        continue
                    if offset >= positions[partition]:
                        found.add(partition)
            return found
        finally:
            consumer.close()

    return probe


class StallWatch:
    """Probes each owned partition silent for ``after`` seconds and cures a stalled one (see
    the module docstring). Call :meth:`check` from the poll loop: between probes it is a
    dictionary pass."""

    def __init__(
        self,
        consumer: Consumer,
        topic: str,
        probe: Probe,
        after: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._consumer = consumer
        self._topic = topic
        self._probe = probe
        self._after = after
        self._clock = clock
        self._since: dict[int, tuple[int, float]] = {}  # partition -> (position, unchanged since)
        self._seeked: dict[int, int] = {}  # partition -> position it was seeked to
        self._pending: tuple[dict[int, int], Future[set[int]]] | None = None
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="stall-probe")
        #: Fetch restarts (seeks) so far.
        self.restarts = 0

    def check(self, positions: Mapping[int, int]) -> list[int]:
        """``positions``: partition -> next offset the application expects. Returns the partitions
        restarted by a seek; raises :class:`PartitionsStalled` when a seek did not cure one."""
        now = self._clock()
        self._since = {p: seen for p, seen in self._since.items() if p in positions}
        self._seeked = {p: at for p, at in self._seeked.items() if positions.get(p) == at}
        restarted = self._act_on_probe(positions) if self._pending and self._pending[1].done() else []
        silent = {}
        for partition, position in positions.items():
            seen = self._since.get(partition)
            if seen is None or seen[0] != position:
                self._since[partition] = (position, now)
            elif now - seen[1] >= self._after:
                silent[partition] = position
        if silent and self._pending is None:
            for partition, position in silent.items():
                self._since[partition] = (position, now)  # probe again only after another ``after``
            self._pending = (silent, self._worker.submit(self._probe, silent))
        return restarted

    def close(self) -> None:
        self._worker.shutdown(wait=False, cancel_futures=True)

    def _act_on_probe(self, positions: Mapping[int, int]) -> list[int]:
        assert self._pending is not None
        probed, future = self._pending
        self._pending = None
        try:
            behind = future.result()
        except KafkaException as exc:  # the broker unreachable: nothing to conclude
            log.debug("stall probe failed", extra={"error": str(exc)})
            return []
        stalled = {p: at for p, at in probed.items() if p in behind and positions.get(p) == at}
        again = sorted(p for p, at in stalled.items() if self._seeked.get(p) == at)
        if again:
            raise PartitionsStalled(
                f"partitions {again} of {self._topic} hold records the consumer does not fetch, "
                "even after a seek; starting again with a new consumer"
            )
        restarted = []
        for partition, position in stalled.items():
            try:
                self._consumer.seek(TopicPartition(self._topic, partition, position))
            except KafkaException as exc:  # revoked meanwhile: the next assignment sets the position
                log.debug("fetch restart skipped", extra={"partition": partition, "error": str(exc)})
                continue
            self._seeked[partition] = position
            self.restarts += 1
            restarted.append(partition)
            log.warning(
                "partition fetch stalled; restarted it",
                extra={"topic": self._topic, "partition": partition, "position": position},
            )
        return restarted
