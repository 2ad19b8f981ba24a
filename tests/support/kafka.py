"""Kafka readers for tests: a whole topic from the beginning, and the dead-letter topic.

Shared by the ingestion and scoring tests, which read what the bridge or the scorer wrote
without joining their consumer groups.
"""

from __future__ import annotations

import uuid
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

from fraudstack.kafka.config import consumer_config
from fraudstack.settings import Settings
from tests.support import wait_until


class TopicReader:
    """Reads a whole topic from the beginning without a consumer group (sees everything, commits nothing)."""

    def __init__(self, settings: Settings, topic: str) -> None:
        self._consumer = Consumer(consumer_config(settings, f"reader-{uuid.uuid4().hex[:8]}"))
        partitions = self._consumer.list_topics(topic, timeout=10).topics[topic].partitions
        self._consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions])
        self.messages: list[Any] = []

    def read(self, seconds: float = 0.2) -> None:
        """Take what arrives within ``seconds`` (one consume call: it returns early once a batch is in)."""
        self.messages += [m for m in self._consumer.consume(10_000, seconds) if m.error() is None]

    def wait_for_count(self, count: int, timeout: float) -> list[Any]:
        """Read until ``count`` messages arrived; the messages."""

        def enough() -> bool:
            self.read()
            return len(self.messages) >= count

        wait_until(
            enough,
            timeout,
            lambda: f"{len(self.messages)} of {count} messages on the topic",
            interval=0,
        )
        return self.messages

    def close(self) -> None:
        self._consumer.close()


def read_dead_letters(
    settings: Settings, count: int, timeout: float
) -> dict[str, tuple[bytes | None, dict[str, bytes]]]:
    """The dead-letter topic's records by their (original, unique) key, once ``count`` arrived."""
    consumer = Consumer(consumer_config(settings, f"{settings.bridge_group_id}-dlq-reader"))
    consumer.subscribe([settings.topic_dead_letter])
    records: dict[str, tuple[bytes | None, dict[str, bytes]]] = {}

    def enough() -> bool:
        for message in consumer.consume(100, 0.5):
            if message.error() is None:
                headers = {k: v for k, v in message.headers() or [] if v is not None}
                records[(message.key() or b"").decode()] = (message.value(), headers)
        return len(records) >= count

    try:
        wait_until(enough, timeout, lambda: f"{len(records)} of {count} dead letters", interval=0)
    finally:
        consumer.close()
    return records
