"""What every long-running service command shares (``bridge``, ``score``).

JSON logs on stderr, the settings, CloudWatch metrics, and graceful shutdown: SIGTERM or
SIGINT sets a stop event; the service finishes the batch in hand, commits and exits, so no
record is lost or left half-sent. Options common to services are declared here once.

Restarts: a service that fails (the broker cannot store its records, the AWS endpoint is
down, a rebalance callback timed out) stops without committing what is not durable, so
starting it again loses nothing: it rejoins its group and replays from the committed
offsets. So the command does that itself, with a growing pause, instead of leaving a dead
process for a supervisor that the embedded stack does not have (the chaos test saw a scorer
exit when the emulator under the broker's storage was killed, and nothing decided after).
A service that keeps failing for :data:`GIVE_UP_AFTER` seconds, without a run lasting
:data:`HEALTHY_RUN` seconds in between, exits non-zero (a crash loop is a supervisor's or an
operator's call); a :class:`ConfigError` exits at once, since no restart fixes it.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable
from typing import Annotated

import typer

from fraudstack.errors import ConfigError
from fraudstack.observability import MetricsPublisher, configure_json_logging
from fraudstack.settings import Settings, load_settings

log = logging.getLogger(__name__)

#: A failing service stops restarting after failing this long without a healthy run.
GIVE_UP_AFTER = 300.0
#: A run that lasted this long ends a streak of failures.
HEALTHY_RUN = 60.0
#: Pause before the first restart of a streak; doubled per failure up to :data:`MAX_PAUSE`.
FIRST_PAUSE = 1.0
MAX_PAUSE = 30.0

ExitWhenIdle = Annotated[
    float | None,
    typer.Option(min=0.0, help="exit after this many seconds without records (default: run on)"),
]
MetricsInterval = Annotated[float, typer.Option(min=1.0, help="seconds between CloudWatch publishes")]

ServiceBody = Callable[[Settings, MetricsPublisher, threading.Event], None]


def run_service(name: str, metrics_interval: float, body: ServiceBody) -> None:
    """Run ``body(settings, metrics, stop)`` as the service ``name`` until it returns."""
    configure_json_logging(name)
    settings = load_settings()
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda _signum, _frame: stop.set())
    with MetricsPublisher(settings, name, flush_interval=metrics_interval) as metrics:
        run_restarting(lambda: body(settings, metrics, stop), stop, metrics)


def run_restarting(
    run: Callable[[], None],
    stop: threading.Event,
    metrics: MetricsPublisher | None = None,
    clock: Callable[[], float] = time.monotonic,
    wait: Callable[[float], bool] | None = None,
) -> None:
    """``run()`` until it returns or ``stop`` is set; after a failure, again (see the module docstring).

    ``wait(seconds)`` pauses before a restart and says whether to stop instead (``stop.wait``).
    """
    wait = wait or stop.wait
    streak_started: float | None = None
    pause = FIRST_PAUSE
    while True:
        started = clock()
        try:
            run()
            return
        except (ConfigError, KeyboardInterrupt):
            raise
        except Exception as exc:
            now = clock()
            if streak_started is None or now - started >= HEALTHY_RUN:
                streak_started, pause = now, FIRST_PAUSE
            if stop.is_set() or now - streak_started >= GIVE_UP_AFTER:
                raise
            log.error(
                "service failed; restarting it",
                extra={"error": f"{type(exc).__name__}: {exc}", "in_seconds": pause},
            )
            if metrics is not None:
                metrics.count("Restarts", 1)
            if wait(pause):
                return
            pause = min(pause * 2, MAX_PAUSE)
