"""``produce_events`` is connected to the broker before it produces, and so stamps, any record."""

from __future__ import annotations

import json
import uuid
from typing import Any

from confluent_kafka import Producer

from fraudstack.ingestion.producer import produce_events
from fraudstack.kafka.config import producer_config
from fraudstack.kafka.topics import ensure_topics
from tests.ingestion.conftest import make_events
from tests.support.stack import RunningStack


class _Probe(Producer):
    """A producer that keeps librdkafka's latest statistics as they were at its first produce().

    The statistics are librdkafka's own view of what it knows (topics, partition leaders),
    delivered only while the client is polled: with none at the first record, the record was
    produced before the client had been given a chance to connect.
    """

    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__({**config, "statistics.interval.ms": 10, "stats_cb": self._stats})
        self.latest: dict[str, Any] | None = None
        self.at_first_record: dict[str, Any] | None = None
        self.records = 0

    def _stats(self, document: str) -> None:
        self.latest = json.loads(document)

    def produce(self, *args: Any, **kwargs: Any) -> None:
        if self.records == 0:
            self.at_first_record = self.latest
        self.records += 1
        super().produce(*args, **kwargs)


def test_topic_metadata_is_known_before_the_first_record(stack: RunningStack) -> None:
    settings = stack.settings
    topic = f"connect-{uuid.uuid4().hex[:8]}"
    ensure_topics(settings, [topic], partitions=2)
    probe = _Probe(producer_config(settings))

    summary = produce_events(settings, make_events(5, "connect"), producer=probe, topic=topic)

    assert summary.sent == probe.records == 5
    assert probe.at_first_record is not None, "the first record was produced before the client connected"
    partitions = probe.at_first_record["topics"][topic]["partitions"]
    leaders = {p["partition"]: p["leader"] for p in partitions.values() if p["partition"] >= 0}
    assert sorted(leaders) == [0, 1] and min(leaders.values()) >= 0, leaders
