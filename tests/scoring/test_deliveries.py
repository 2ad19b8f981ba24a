"""A checkpoint's records count as settled only once the broker answered for all of them (no broker)."""

from __future__ import annotations

from fraudstack.scoring.deliveries import Deliveries


class _Error:
    """Stands in for a KafkaError in a delivery report."""

    def str(self) -> str:
        return "broker down"


def _produce(deliveries: Deliveries, count: int) -> list:
    callbacks = []
    for _ in range(count):
        deliveries.produced()
        callbacks.append(deliveries.callback)
    return callbacks


def test_a_checkpoint_settles_when_every_record_up_to_it_is_answered() -> None:
    deliveries = Deliveries()
    first = _produce(deliveries, 3)
    first_epoch = deliveries.advance()
    second = _produce(deliveries, 2)
    second_epoch = deliveries.advance()
    for report in second:  # later records may be acknowledged first (other partitions)
        report(None, None)
    assert not deliveries.settled(first_epoch) and not deliveries.settled(second_epoch)
    for report in first[:-1]:
        report(None, None)
    assert not deliveries.settled(first_epoch)
    first[-1](None, None)
    assert deliveries.settled(first_epoch) and deliveries.settled(second_epoch)
    assert not deliveries.errors


def test_records_after_the_cut_do_not_hold_it_back() -> None:
    deliveries = Deliveries()
    before = _produce(deliveries, 1)
    epoch = deliveries.advance()
    _produce(deliveries, 5)  # not yet answered
    before[0](None, None)
    assert deliveries.settled(epoch)


def test_a_failed_delivery_settles_but_is_reported() -> None:
    deliveries = Deliveries()
    (report,) = _produce(deliveries, 1)
    report(_Error(), None)
    assert deliveries.settled(deliveries.advance())
    assert deliveries.errors == ["broker down"]
