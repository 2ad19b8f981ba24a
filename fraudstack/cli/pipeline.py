"""``fraudstack pipeline run | watch``: run the deployed fraud pipeline and follow each state.

``run`` starts one named execution, prints every state as it enters and leaves (with its
duration and what it added to the state), publishes the run's metrics and exits 1 when the
execution did not succeed. ``watch`` does the same on an interval (the local stand-in for
the EventBridge schedule on AWS) until interrupted or ``--count`` runs are done.
"""

from __future__ import annotations

import json
import time
from typing import Annotated

import typer
from rich.console import Console

from fraudstack.pipeline import PipelineRun, StateEvent, run_pipeline
from fraudstack.settings import load_settings

pipeline_app = typer.Typer(help="Run the Step Functions fraud pipeline and follow it.", no_args_is_help=True)


def print_event(console: Console, event: StateEvent) -> None:
    """One line per state event: entered, exited (duration, result) or failed (error)."""
    stamp = f"[dim]{event.at:%H:%M:%S}[/]"
    if event.kind == "entered":
        console.print(f"{stamp} [cyan]>[/] {event.state}")
    elif event.kind == "exited":
        result = json.dumps(event.detail, default=str, separators=(",", ":")) if event.detail else ""
        console.print(
            f"{stamp} [green]ok[/] {event.state} [dim]{event.seconds:.1f}s[/] {result}", soft_wrap=True
        )
    else:
        console.print(
            f"{stamp} [red]x[/] {event.state}: {event.detail.get('error')}: {event.detail.get('cause')}",
            soft_wrap=True,
        )


def print_outcome(console: Console, run: PipelineRun) -> None:
    if run.succeeded:
        console.print(
            f"[bold green]pipeline {run.name} succeeded[/] in {run.seconds:.1f}s: "
            f"{run.frauds_found} new fraud alert(s) found, {run.alerts_sent} sent"
        )
    else:
        console.print(f"[bold red]pipeline {run.name} {run.status.lower()}[/]: {run.error}: {run.cause}")


def run_command(
    name: Annotated[
        str | None, typer.Option(help="execution name (default: run-<UTC time>-<random>)")
    ] = None,
    timeout: Annotated[
        float, typer.Option(min=1.0, help="give up following after this many seconds")
    ] = 1800.0,
) -> None:
    """Start one pipeline execution, print each state as it runs; exit 1 unless it succeeds."""
    settings = load_settings()
    console = Console()
    run = run_pipeline(
        settings, lambda event: print_event(console, event), name=name, timeout_seconds=timeout
    )
    print_outcome(console, run)
    if not run.succeeded:
        raise typer.Exit(1)


def watch_command(
    interval: Annotated[float, typer.Option(min=1.0, help="seconds between the starts of two runs")] = 300.0,
    count: Annotated[int | None, typer.Option(min=1, help="stop after this many runs")] = None,
) -> None:
    """Run the pipeline every --interval seconds (Ctrl-C stops); exit 1 if any run failed."""
    settings = load_settings()
    console = Console()
    failures = runs = 0
    try:
        while count is None or runs < count:
            started = time.monotonic()
            run = run_pipeline(settings, lambda event: print_event(console, event))
            print_outcome(console, run)
            runs += 1
            failures += 0 if run.succeeded else 1
            if count is not None and runs >= count:
                break
            time.sleep(max(0.0, interval - (time.monotonic() - started)))
    except KeyboardInterrupt:
        console.print("stopped")
    console.print(f"{runs} run(s), {failures} failed")
    if failures:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add ``pipeline run`` and ``pipeline watch`` to the ``fraudstack`` command."""
    pipeline_app.command("run")(run_command)
    pipeline_app.command("watch")(watch_command)
    app.add_typer(pipeline_app, name="pipeline")
