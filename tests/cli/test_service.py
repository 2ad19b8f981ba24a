"""Service restarts (``fraudstack bridge`` / ``score``): a failed run is started again after a
growing pause, a healthy run ends a streak, a crash loop gives up, and a configuration error
or a stop request is never retried. Pure logic with a fake clock: the chaos test
(tests/chaos) shows a real scorer coming back after the emulator under its broker died."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from fraudstack.cli.service import GIVE_UP_AFTER, MAX_PAUSE, run_restarting
from fraudstack.errors import ConfigError, FraudstackError


class Clock:
    """A clock that moves only when a run lasts or a pause passes."""

    def __init__(self) -> None:
        self.now = 0.0
        self.pauses: list[float] = []

    def __call__(self) -> float:
        return self.now

    def wait(self, seconds: float) -> bool:
        self.pauses.append(seconds)
        self.now += seconds
        return False


def _runs(
    clock: Clock, outcomes: list[tuple[float, Exception | None]]
) -> tuple[list[int], Callable[[], None]]:
    """A run that lasts and ends (raises or returns) as ``outcomes`` says, one per call."""
    calls: list[int] = []

    def run() -> None:
        lasts, error = outcomes[len(calls)]
        calls.append(1)
        clock.now += lasts
        if error is not None:
            raise error

    return calls, run


def test_a_failed_run_is_restarted_after_a_growing_pause_until_it_ends() -> None:
    clock = Clock()
    failure = FraudstackError("the broker did not confirm 3 decisions")
    calls, run = _runs(clock, [(5, failure), (1, failure), (1, failure), (0, None)])
    run_restarting(run, threading.Event(), clock=clock, wait=clock.wait)
    assert len(calls) == 4
    assert clock.pauses == [1.0, 2.0, 4.0]


def test_a_healthy_run_starts_a_new_streak() -> None:
    clock = Clock()
    failure = RuntimeError("endpoint down")
    _, run = _runs(clock, [(1, failure), (1, failure), (120, failure), (0, None)])
    run_restarting(run, threading.Event(), clock=clock, wait=clock.wait)
    assert clock.pauses == [1.0, 2.0, 1.0]  # the 120 s run reset the pause


def test_a_crash_loop_gives_up_with_the_last_error() -> None:
    clock = Clock()
    _, run = _runs(clock, [(1, FraudstackError(f"failure {n}")) for n in range(100)])
    with pytest.raises(FraudstackError, match="failure"):
        run_restarting(run, threading.Event(), clock=clock, wait=clock.wait)
    assert clock.now >= GIVE_UP_AFTER
    assert max(clock.pauses) == MAX_PAUSE
    assert clock.now < 2 * GIVE_UP_AFTER


def test_a_config_error_is_not_retried() -> None:
    clock = Clock()
    calls, run = _runs(clock, [(0, ConfigError("FRAUDSTACK_KAFKA_PORT: not a port"))] * 3)
    with pytest.raises(ConfigError):
        run_restarting(run, threading.Event(), clock=clock, wait=clock.wait)
    assert len(calls) == 1


def test_a_stop_during_the_pause_ends_without_a_restart() -> None:
    stop = threading.Event()
    clock = Clock()
    calls, run = _runs(clock, [(1, RuntimeError("down"))] * 3)

    def stopped(seconds: float) -> bool:
        stop.set()
        return True

    run_restarting(run, stop, clock=clock, wait=stopped)
    assert len(calls) == 1
