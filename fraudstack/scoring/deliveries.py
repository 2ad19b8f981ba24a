"""Which of the scorer's produced records the broker has acknowledged, per checkpoint.

Why: a checkpoint may commit its offsets only once every decision and dead letter below them
is acknowledged. Waiting for that with ``Producer.flush`` at each checkpoint stops the
scoring loop for a broker round trip every ``commit_interval`` (from milliseconds to hundreds
of them on a busy broker), and every transaction arriving meanwhile waits too. Instead each
record is counted in the *epoch* it was produced in - the epoch advances at each checkpoint
cut - and its delivery callback uncounts it; a cut's offsets may be committed once every
epoch up to its own is empty. Callbacks run inside ``Producer.poll``/``flush``, on the
loop's thread, so the counts need no lock.
"""

from __future__ import annotations

from functools import partial

from confluent_kafka import KafkaError, Message


class Deliveries:
    """Counts of produced, not yet acknowledged records by epoch; ``callback`` is the current epoch's."""

    def __init__(self) -> None:
        self.epoch = 0
        self.errors: list[str] = []
        self._pending: dict[int, int] = {0: 0}
        self.callback = partial(self._delivered, 0)

    def produced(self) -> None:
        """Count a record handed to the producer with :attr:`callback` as its ``on_delivery``."""
        self._pending[self.epoch] += 1

    def advance(self) -> int:
        """End the current epoch (at a checkpoint cut) and return it."""
        ended = self.epoch
        self.epoch += 1
        self._pending[self.epoch] = 0
        self.callback = partial(self._delivered, self.epoch)
        return ended

    def settled(self, epoch: int) -> bool:
        """Whether the broker has answered for every record produced up to the end of ``epoch``.

        An answer may be an error: check :attr:`errors` before committing.
        """
        ended = [e for e in self._pending if e <= epoch]
        if any(self._pending[e] for e in ended):
            return False
        for e in ended:
            if e != self.epoch:
                del self._pending[e]
        return True

    def _delivered(self, epoch: int, err: KafkaError | None, _msg: Message) -> None:
        self._pending[epoch] -= 1
        if err is not None:
            self.errors.append(err.str())
