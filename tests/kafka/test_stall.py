"""The stall watchdog against the real broker: a partition silent for a while is probed at the
position the application expects; records there mean a stall, cured by a seek and, if the
seek does not help, by starting again; an idle partition at the end of its log, or a moving
one, is left alone. (A real librdkafka stall cannot be provoked on demand; the chaos bench
meets one. Here the application reports a position it is not being fed.)"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition

from fraudstack.kafka.config import consumer_config, producer_config
from fraudstack.kafka.stall import PartitionsStalled, StallWatch, probe_with_consumer
from fraudstack.kafka.topics import ensure_topics
from tests.support import wait_until
from tests.support.stack import RunningStack


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


@pytest.fixture
def watch(stack: RunningStack, consumer: Consumer, topic: str) -> Iterator[tuple[StallWatch, FakeClock]]:
    clock = FakeClock()
    watch = StallWatch(consumer, topic, probe_with_consumer(stack.settings, topic, seconds=5), clock=clock)
    yield watch, clock
    watch.close()


def _next_offsets(consumer: Consumer, count: int) -> list[int]:
    got: list[int] = []

    def more() -> bool:
        got.extend(m.offset() for m in consumer.consume(count - len(got), 0.5) if m.error() is None)
        return len(got) >= count

    wait_until(more, 60, f"{count} records consumed (got {got})")
    return got


def _probe_result(watch: StallWatch, positions: dict[int, int]) -> list[int]:
    """Check until the probe started by the previous check has answered (it runs on a thread)."""
    assert watch._pending is not None, "no probe started"
    wait_until(lambda: watch._pending is not None and watch._pending[1].done(), 30, "the probe's answer")
    return watch.check(positions)


def test_a_stalled_partition_is_seeked_then_restarted_if_the_seek_does_not_help(
    consumer: Consumer, watch: tuple[StallWatch, FakeClock]
) -> None:
    stall, clock = watch
    assert _next_offsets(consumer, 10) == list(range(10))  # librdkafka's position is now 10
    assert stall.check({0: 4}) == []  # first sight
    clock.now = 29.0
    assert stall.check({0: 4}) == []  # not silent long enough: no probe
    assert stall._pending is None
    clock.now = 31.0
    assert stall.check({0: 4}) == []  # silent: probed in the background
    assert _probe_result(stall, {0: 4}) == [0]  # records at 4: seeked there
    assert _next_offsets(consumer, 6) == list(range(4, 10))  # fetched again from where expected
    clock.now = 62.0
    stall.check({0: 4})  # still at 4 after the seek: probed again...
    with pytest.raises(PartitionsStalled, match="even after a seek"):
        _probe_result(stall, {0: 4})  # ...and still behind: start again


def test_idle_and_moving_partitions_are_left_alone(
    stack: RunningStack, consumer: Consumer, topic: str, watch: tuple[StallWatch, FakeClock]
) -> None:
    stall, clock = watch
    _next_offsets(consumer, 10)
    for step, position in enumerate((3, 5, 7, 9)):  # moving: never probed
        clock.now = 29.0 * step
        assert stall.check({0: position}) == []
        assert stall._pending is None
    stall.check({0: 10})
    clock.now += 31.0
    stall.check({0: 10})  # idle at the end of the log: probed, nothing there
    assert _probe_result(stall, {0: 10}) == []
    assert stall.restarts == 0
    producer = Producer(producer_config(stack.settings))
    producer.produce(topic, value=b"after", partition=0)
    assert producer.flush(30) == 0
    assert _next_offsets(consumer, 1) == [10]  # the real consumer was never disturbed
    assert stall.check({}) == []  # revoked: forgotten
