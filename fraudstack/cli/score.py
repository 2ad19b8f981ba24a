"""``fraudstack score``: run the streaming scorer until SIGTERM / SIGINT.

Logs are JSON lines on stderr (model switches, rebalances, state restores, dead letters);
metrics go to CloudWatch. The same command is the container's entry point on ECS/Fargate
(see docs/streaming-scorer.md).
"""

from __future__ import annotations

import threading
from typing import Annotated

import typer

from fraudstack.cli.service import ExitWhenIdle, MetricsInterval, run_service
from fraudstack.observability import MetricsPublisher
from fraudstack.scoring import Scorer
from fraudstack.settings import Settings


def score_command(
    max_batch: Annotated[int, typer.Option(min=1, help="most records scored as one matrix")] = 500,
    commit_interval: Annotated[
        float, typer.Option(min=0.01, help="seconds between offset commits (bounds replays after a crash)")
    ] = 0.5,
    exit_when_idle: ExitWhenIdle = None,
    metrics_interval: MetricsInterval = 10.0,
) -> None:
    """Decide approve / review / decline on every transaction; decisions to the decisions topic."""

    def body(settings: Settings, metrics: MetricsPublisher, stop: threading.Event) -> None:
        # On stop: finish the batch, commit, snapshot, leave the group; the next owner starts there.
        scorer = Scorer(settings, metrics=metrics, max_batch=max_batch, commit_interval=commit_interval)
        scorer.run(stop, exit_when_idle=exit_when_idle)

    run_service("scorer", metrics_interval, body)


def register(app: typer.Typer) -> None:
    """Add ``score`` to the ``fraudstack`` command."""
    app.command("score")(score_command)
