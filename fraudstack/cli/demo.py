"""``fraudstack demo``: run the whole system end to end on simulated data (``make demo``).

Starts the stack if needed, deploys, trains a small model if none is current, streams
simulated transactions through the ingestion path, runs the pipeline until alerts are sent,
then prints a summary, where to look, and the total time. See :mod:`fraudstack.demo`.
"""

from __future__ import annotations

import time

import typer
from rich.console import Console

from fraudstack.demo import print_summary, run_demo
from fraudstack.errors import ConfigError
from fraudstack.settings import load_settings


def demo_command() -> None:
    """Run the full pipeline end to end on simulated data and print where to look."""
    started = time.monotonic()
    settings = load_settings()
    if settings.target != "embedded":
        raise ConfigError("`fraudstack demo` runs on the embedded stack (unset FRAUDSTACK_TARGET)")
    console = Console()
    report = run_demo(settings, console)
    print_summary(settings, console, report, time.monotonic() - started)


def register(app: typer.Typer) -> None:
    """Add ``demo`` to the ``fraudstack`` command."""
    app.command("demo")(demo_command)
