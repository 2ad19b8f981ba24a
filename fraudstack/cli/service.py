"""What every long-running service command shares (``bridge``, ``score``).

JSON logs on stderr, the settings, CloudWatch metrics, and graceful shutdown: SIGTERM or
SIGINT sets a stop event; the service finishes the batch in hand, commits and exits, so no
record is lost or left half-sent. Options common to services are declared here once.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from typing import Annotated

import typer

from fraudstack.observability import MetricsPublisher, configure_json_logging
from fraudstack.settings import Settings, load_settings

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
        body(settings, metrics, stop)
