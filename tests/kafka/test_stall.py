"""The stall watchdog against the real broker: a partition that delivered nothing for a while is
fetched again from the position the application expects, a restart loses nothing on an idle
partition, and a moving partition is left alone. (A real librdkafka stall cannot be provoked on
demand; the chaos test meets one. Here the application reports a position it is not being fed.)"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition

from fraudstack.kafka.config import consumer_config, producer_config
from fraudstack.kafka.stall import StallWatch
from fraudstack.kafka.topics import ensure_topics
from tests.conftest import RunningStack
from tests.support import wait_until


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def topic(stack: RunningStack) -> str:
    name = f"stall-{uuid.uuid4().hex[:8]}"
    ensure_topics(stack.settings, [name], partitions=1)
    producer = Producer(producer_config(stack.settings))
    for n in range(10):
        producer.produce(name, value=str(n).encode(), partition=0)
    assert producer.flush(30) == 0
    return name


@pytest.fixture
def consumer(stack: RunningStack, topic: str) -> Iterator[Consumer]:
    consumer = Consumer(consumer_config(stack.settings, f"stall-test-{uuid.uuid4().hex[:8]}"))
    consumer.assign([TopicPartition(topic, 0, 0)])
    yield consumer
    consumer.close()


def _next_offsets(consumer: Consumer, count: int) -> list[int]:
    got: list[int] = []

    def more() -> bool:
        got.extend(m.offset() for m in consumer.consume(count - len(got), 0.5) if m.error() is None)
        return len(got) >= count

    wait_until(more, 60, f"{count} records consumed (got {got})")
    return got


def test_a_partition_without_progress_behind_the_log_is_restarted_at_its_position(
    consumer: Consumer, topic: str
) -> None:
    assert _next_offsets(consumer, 10) == list(range(10))  # librdkafka's position is now 10
    clock = FakeClock()
    watch = StallWatch(consumer, topic, after=30.0, clock=clock)
    assert watch.check({0: 4}) == []  # first sight
    clock.now = 29.0
    assert watch.check({0: 4}) == []  # not long enough
    clock.now = 31.0
    assert watch.check({0: 4}) == [0]
    assert watch.restarts == 1
    assert _next_offsets(consumer, 6) == list(range(4, 10))  # fetched again from where it was expected
    clock.now = 45.0
    assert watch.check({0: 4}) == []  # looks again only ``after`` seconds after a restart


def test_moving_partitions_are_left_alone_and_an_idle_restart_loses_nothing(
    stack: RunningStack, consumer: Consumer, topic: str
) -> None:
    _next_offsets(consumer, 10)
    clock = FakeClock()
    watch = StallWatch(consumer, topic, after=30.0, clock=clock)
    for step, position in enumerate((3, 5, 7, 9)):  # moving: never restarted
        clock.now = 29.0 * step
        assert watch.check({0: position}) == []
    watch.check({0: 10})
    clock.now += 31.0
    assert watch.check({0: 10}) == [0]  # idle at the end of the log: restarted at 10
    producer = Producer(producer_config(stack.settings))
    producer.produce(topic, value=b"after", partition=0)
    assert producer.flush(30) == 0
    assert _next_offsets(consumer, 1) == [10]  # nothing lost, nothing repeated
    assert watch.check({}) == []  # revoked: forgotten
