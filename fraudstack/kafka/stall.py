"""A watchdog for partitions a consumer owns but no longer fetches.

Why: after the embedded broker's storage fails under it (the emulator's S3 killed while the
broker runs on ``s3`` storage, or the broker killed while a consumer is joining), librdkafka
can leave one assigned partition without a fetch for good: the consumer stays in its group,
polls, heartbeats and commits the other partitions, while that partition's records pile up
unread (the chaos test saw a scorer partition stop ~640 records short in 2 runs of 3). No
error reaches the application.

A seek to the position the application expects restarts the partition's fetcher. Whether
records lie beyond that position cannot be asked of Tansu 0.6: its high watermark lags the
records it serves (it answered 1 for a partition holding 10). So the watchdog restarts every
owned partition that has delivered nothing for ``after`` seconds. That costs an idle
partition one fetch restart per ``after`` seconds and loses nothing: nothing was prefetched
(the application would have received it within ``after`` seconds), and the seek goes to the
offset the application expects next.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping

from confluent_kafka import Consumer, KafkaException, TopicPartition

log = logging.getLogger(__name__)


class StallWatch:
    """Restarts the fetch of each owned partition whose position has not moved for ``after``
    seconds. Call :meth:`check` from the poll loop: it is a dictionary pass between restarts."""

    def __init__(
        self,
        consumer: Consumer,
        topic: str,
        after: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._consumer = consumer
        self._topic = topic
        self._after = after
        self._clock = clock
        self._since: dict[int, tuple[int, float]] = {}  # partition -> (position, unchanged since)
        #: Fetch restarts so far.
        self.restarts = 0

    def check(self, positions: Mapping[int, int]) -> list[int]:
        """``positions``: partition -> next offset the application expects. Returns those restarted."""
        now = self._clock()
        self._since = {p: seen for p, seen in self._since.items() if p in positions}
        restarted = []
        for partition, position in positions.items():
            seen = self._since.get(partition)
            if seen is None or seen[0] != position:
                self._since[partition] = (position, now)
                continue
            if now - seen[1] < self._after:
                continue
            self._since[partition] = (position, now)  # again only after another ``after``
            try:
                self._consumer.seek(TopicPartition(self._topic, partition, position))
            except KafkaException as exc:  # revoked meanwhile: the next assignment sets the position
                log.debug("fetch restart skipped", extra={"partition": partition, "error": str(exc)})
                continue
            self.restarts += 1
            restarted.append(partition)
            log.debug("fetch restarted", extra={"topic": self._topic, "partition": partition, "at": position})
        return restarted
