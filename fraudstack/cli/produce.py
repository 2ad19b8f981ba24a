"""``fraudstack produce``: stream transactions into the Kafka ``transactions`` topic.

The source is the simulator's event-time-ordered stream (deterministic for ``--seed``;
``--speed`` replays event time, ``--rate`` caps transactions per second) or a JSON-lines
file (``--input``, ``-`` for stdin) such as ``fraudstack simulate --format jsonl`` writes.
``--labels FILE`` instead sends label events (the ``.labels.parquet`` or ``.labels.jsonl``
file ``fraudstack simulate`` writes beside the transactions) to the ``labels`` topic.
A live progress line shows sent / failed / rate; the final summary is printed to stdout and
the command exits 1 when any record failed.
"""

from __future__ import annotations

import json
import signal
import sys
import threading
from collections.abc import Iterable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

from fraudstack.errors import ConfigError
from fraudstack.ingestion.producer import ProduceSummary, produce_events
from fraudstack.kafka.topics import ensure_topics
from fraudstack.labels import LABEL_EVENT_FIELDS
from fraudstack.observability import MetricsPublisher
from fraudstack.settings import load_settings
from fraudstack.simulator import SimulationConfig, iter_events

_SIM = SimulationConfig()


def _json_lines(path: Path) -> Iterator[dict[str, Any]]:
    """Events from a JSON-lines file; a line that is not an object is a usage error."""
    with ExitStack() as stack:
        lines = sys.stdin if str(path) == "-" else stack.enter_context(path.open(encoding="utf-8"))
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                event = json.loads(line)
            except ValueError as exc:
                raise ConfigError(f"{path}:{number} is not JSON: {exc}") from None
            if not isinstance(event, dict) or "card_id" not in event:
                raise ConfigError(f"{path}:{number} is not a transaction event (no card_id)")
            yield event


def _label_file(path: Path) -> list[dict[str, Any]]:
    """Label events from a Parquet or JSON-lines file (the bridge validates each on its way)."""
    try:
        if path.suffix == ".parquet":
            import pyarrow.parquet as pq

            rows: list[dict[str, Any]] = pq.read_table(path).to_pylist()
        else:
            rows = [
                json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()
            ]
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read --labels {path}: {str(exc).splitlines()[0]}") from None
    for number, row in enumerate(rows, start=1):
        if not isinstance(row, dict) or set(row) != set(LABEL_EVENT_FIELDS):
            raise ConfigError(
                f"--labels {path} row {number} is not a label event ({', '.join(LABEL_EVENT_FIELDS)})"
            )
    return rows


def produce_command(
    rate: Annotated[
        float | None, typer.Option(min=0.0, help="transactions per second (default: unlimited)")
    ] = None,
    count: Annotated[int | None, typer.Option(min=1, help="stop after this many transactions")] = None,
    duration: Annotated[float | None, typer.Option(min=0.0, help="stop after this many seconds")] = None,
    input_path: Annotated[
        Path | None,
        typer.Option("--input", help="JSON-lines file of events ('-' for stdin) instead of the simulator"),
    ] = None,
    speed: Annotated[
        float | None,
        typer.Option(min=0.0, help="simulator: replay event time this many times faster than real time"),
    ] = None,
    customers: Annotated[int, typer.Option(help="simulator: number of customers")] = _SIM.customers,
    days: Annotated[int, typer.Option(help="simulator: days of event time")] = _SIM.days,
    start: Annotated[str, typer.Option(help="simulator: first day, YYYY-MM-DD")] = _SIM.start.isoformat(),
    fraud_rate: Annotated[
        float, typer.Option(help="simulator: share of fraud-labelled rows")
    ] = _SIM.fraud_rate,
    seed: Annotated[
        int, typer.Option(help="simulator: random seed; same seed, same transactions")
    ] = _SIM.seed,
    labels: Annotated[
        Path | None,
        typer.Option("--labels", help="send this label-event file to the labels topic instead"),
    ] = None,
    drift: Annotated[
        str,
        typer.Option(
            help='simulator: drift schedule, as fraudstack simulate --drift ("day 20: amount x1.5")'
        ),
    ] = "",
) -> None:
    """Produce transactions keyed by card (acks=all, idempotent) and print a sent/failed summary."""
    settings = load_settings()
    events: Iterable[dict[str, Any]]
    topic, key_field = settings.topic_transactions, "card_id"
    if labels is not None:
        if input_path is not None:
            raise ConfigError("--labels and --input are two sources; give one")
        events, topic, key_field = _label_file(labels), settings.topic_labels, "transaction_id"
    elif input_path is not None:
        if speed is not None:
            raise ConfigError("--speed paces the simulator; with --input use --rate")
        if str(input_path) != "-" and not input_path.exists():
            raise ConfigError(f"--input {input_path} does not exist")
        events = _json_lines(input_path)
    else:
        config = SimulationConfig.create(
            customers=customers, days=days, start=start, fraud_rate=fraud_rate, seed=seed, drift=drift
        )
        events = iter_events(config, speed=speed or None)
    ensure_topics(settings)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda _signum, _frame: stop.set())
    signal.signal(signal.SIGINT, lambda _signum, _frame: stop.set())
    console = Console(stderr=True)
    columns = [
        TextColumn("[bold]producing[/]"),
        BarColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[line]}"),
        TimeElapsedColumn(),
    ]
    with (
        MetricsPublisher(settings, "producer") as metrics,
        Progress(*columns, console=console, transient=True) as progress,
    ):
        task = progress.add_task("produce", total=count, line="")

        def show(summary: ProduceSummary) -> None:
            line = f"sent {summary.sent:,}  failed {summary.failed:,}  {summary.rate:,.0f}/s"
            progress.update(task, completed=summary.attempted, line=line)

        summary = produce_events(
            settings,
            events,
            rate=rate or None,
            count=count,
            duration=duration,
            metrics=metrics,
            on_progress=show,
            stop=stop,
            topic=topic,
            key_field=key_field,
        )
    resent = f" ({summary.resent:,} sends again after broker errors)" if summary.resent else ""
    typer.echo(
        f"sent {summary.sent:,}, failed {summary.failed:,} to {topic} "
        f"in {summary.seconds:.1f}s ({summary.rate:,.0f}/s){resent}"
    )
    for error in summary.errors:
        typer.echo(f"  error: {error}", err=True)
    if summary.failed:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add ``produce`` to the ``fraudstack`` command."""
    app.command("produce")(produce_command)
