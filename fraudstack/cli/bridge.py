"""``fraudstack bridge``: run the Kafka -> Kinesis bridge until SIGTERM / SIGINT.

Logs are JSON lines on stderr (one object per line, see
:func:`fraudstack.observability.configure_json_logging`); metrics go to CloudWatch.
"""

from __future__ import annotations

import threading
from typing import Annotated

import typer

from fraudstack.cli.service import ExitWhenIdle, MetricsInterval, run_service
from fraudstack.ingestion.bridge import Bridge
from fraudstack.observability import MetricsPublisher
from fraudstack.settings import Settings


def bridge_command(
    linger: Annotated[
        float, typer.Option(min=0.0, help="seconds to wait for a batch to fill before sending it anyway")
    ] = 0.2,
    exit_when_idle: ExitWhenIdle = None,
    metrics_interval: MetricsInterval = 10.0,
) -> None:
    """Forward the transactions topic to Kinesis (at-least-once); invalid records go to the DLQ topic."""

    def body(settings: Settings, metrics: MetricsPublisher, stop: threading.Event) -> None:
        Bridge(settings, metrics=metrics, linger=linger).run(stop, exit_when_idle=exit_when_idle)

    run_service("bridge", metrics_interval, body)


def register(app: typer.Typer) -> None:
    """Add ``bridge`` to the ``fraudstack`` command."""
    app.command("bridge")(bridge_command)
