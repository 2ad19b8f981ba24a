"""``fraudstack profiles``: run the entity-profile aggregator until SIGTERM / SIGINT.

The streaming scorer reads merchant, device, IP and customer profiles from the
``entity-profiles`` topic this service keeps current (see :mod:`fraudstack.scoring.profiles`
and docs/streaming-scorer.md). Run as many as ``entity-events`` has partitions; they share
the work as one consumer group, like the scorers.
"""

from __future__ import annotations

import threading
from typing import Annotated

import typer

from fraudstack.cli.service import ExitWhenIdle, MetricsInterval, run_service
from fraudstack.observability import MetricsPublisher
from fraudstack.scoring.profiles import ProfileAggregator
from fraudstack.settings import Settings


def profiles_command(
    publish_interval: Annotated[
        float, typer.Option(min=0.001, help="seconds between publishing the profiles that changed")
    ] = 0.05,
    exit_when_idle: ExitWhenIdle = None,
    metrics_interval: MetricsInterval = 10.0,
) -> None:
    """Repartition transactions by entity, keep each entity's profile, publish the ones that change."""

    def body(settings: Settings, _metrics: MetricsPublisher, stop: threading.Event) -> None:
        ProfileAggregator(settings, publish_interval=publish_interval).run(
            stop, exit_when_idle=exit_when_idle
        )

    run_service("profiles", metrics_interval, body)


def register(app: typer.Typer) -> None:
    """Add ``profiles`` to the ``fraudstack`` command."""
    app.command("profiles")(profiles_command)
