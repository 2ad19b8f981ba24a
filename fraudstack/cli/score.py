"""``fraudstack score``: run the streaming scorer until SIGTERM / SIGINT.

Logs are JSON lines on stderr (model switches, rebalances, state restores, dead letters);
metrics go to CloudWatch. The same command is the container's entry point on ECS/Fargate
(see docs/streaming-scorer.md).
"""

from __future__ import annotations

import signal
import threading
from typing import Annotated

import typer

from fraudstack.observability import MetricsPublisher, configure_json_logging
from fraudstack.scoring import Scorer
from fraudstack.settings import load_settings


def score_command(
    max_batch: Annotated[int, typer.Option(min=1, help="most records scored as one matrix")] = 2000,
    commit_interval: Annotated[
        float, typer.Option(min=0.01, help="seconds between offset commits (bounds replays after a crash)")
    ] = 0.5,
    exit_when_idle: Annotated[
        float | None,
        typer.Option(min=0.0, help="exit after this many seconds without records (default: run on)"),
    ] = None,
    metrics_interval: Annotated[
        float, typer.Option(min=1.0, help="seconds between CloudWatch publishes")
    ] = 10.0,
) -> None:
    """Decide approve / review / decline on every transaction; decisions to the decisions topic."""
    configure_json_logging("scorer")
    settings = load_settings()
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        # Finish the batch in hand, commit, snapshot, leave the group: the next owner starts there.
        signal.signal(sig, lambda _signum, _frame: stop.set())
    with MetricsPublisher(settings, "scorer", flush_interval=metrics_interval) as metrics:
        scorer = Scorer(settings, metrics=metrics, max_batch=max_batch, commit_interval=commit_interval)
        scorer.run(stop, exit_when_idle=exit_when_idle)


def register(app: typer.Typer) -> None:
    """Add ``score`` to the ``fraudstack`` command."""
    app.command("score")(score_command)
