"""``fraudstack bridge``: run the Kafka -> Kinesis bridge until SIGTERM / SIGINT.

Logs are JSON lines on stderr (one object per line, see
:func:`fraudstack.observability.configure_json_logging`); metrics go to CloudWatch.
"""

from __future__ import annotations

import signal
import threading
from typing import Annotated

import typer

from fraudstack.kafka.bridge import Bridge
from fraudstack.observability import MetricsPublisher, configure_json_logging
from fraudstack.settings import load_settings


def bridge_command(
    linger: Annotated[
        float, typer.Option(min=0.0, help="seconds to wait for a batch to fill before sending it anyway")
    ] = 0.2,
    exit_when_idle: Annotated[
        float | None,
        typer.Option(min=0.0, help="exit after this many seconds without records (default: run on)"),
    ] = None,
    metrics_interval: Annotated[
        float, typer.Option(min=1.0, help="seconds between CloudWatch publishes")
    ] = 10.0,
) -> None:
    """Forward the transactions topic to Kinesis (at-least-once); invalid records go to the DLQ topic."""
    configure_json_logging("bridge")
    settings = load_settings()
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        # Finish the batch in hand, commit, exit: no record is lost or left half-sent.
        signal.signal(sig, lambda _signum, _frame: stop.set())
    with MetricsPublisher(settings, "bridge", flush_interval=metrics_interval) as metrics:
        Bridge(settings, metrics=metrics, linger=linger).run(stop, exit_when_idle=exit_when_idle)


def register(app: typer.Typer) -> None:
    """Add ``bridge`` to the ``fraudstack`` command."""
    app.command("bridge")(bridge_command)
