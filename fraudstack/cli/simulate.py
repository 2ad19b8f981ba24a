"""``fraudstack simulate``: write a synthetic transaction dataset to Parquet or JSON lines.

Beside it, the label events of its frauds with the time each became known
(``<stem>.labels<suffix>``), which ``fraudstack produce --labels`` sends to the labels topic.
"""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from fraudstack.errors import ConfigError
from fraudstack.schema import FRAUD_TYPES
from fraudstack.simulator import SimulationConfig, SimulationSummary, write
from fraudstack.simulator.writers import SUFFIXES, OutputFormat

_DEFAULTS = SimulationConfig()


def _output_path(out: Path | None, fmt: OutputFormat) -> Path:
    """Default file name per format; a suffix that contradicts ``--format`` is an error."""
    if out is None:
        return Path("data") / "simulated" / f"transactions{SUFFIXES[fmt][0]}"
    if out.suffix and out.suffix not in SUFFIXES[fmt]:
        raise ConfigError(f"--out {out} has suffix {out.suffix!r} but --format is {fmt}; make them agree")
    if out.is_dir():
        return out / f"transactions{SUFFIXES[fmt][0]}"
    return out


def _print_summary(
    console: Console, config: SimulationConfig, summary: SimulationSummary, seconds: float
) -> None:
    table = Table(title="simulation summary", show_header=False)
    for event in config.drift:
        table.add_row("drift", str(event))
    table.add_row("rows", f"{summary.rows:,}")
    rate = summary.frauds / summary.rows if summary.rows else 0.0
    table.add_row("fraud rows", f"{summary.frauds:,} ({rate:.2%})")
    for name in FRAUD_TYPES:
        table.add_row(f"  {name}", f"{summary.frauds_by_type.get(name, 0):,}")
    labels = sum(summary.labels_by_source.values())
    table.add_row("label events", f"{labels:,}")
    for source, count in sorted(summary.labels_by_source.items()):
        table.add_row(f"  {source}", f"{count:,}")
    table.add_row("time", f"{seconds:.1f} s ({summary.rows / max(seconds, 1e-9):,.0f} rows/s)")
    console.print(table)
    console.print(f"output: {summary.path}", soft_wrap=True)
    console.print(f"labels: {summary.labels_path}", soft_wrap=True)


def simulate(
    customers: Annotated[int, typer.Option(help="Number of legitimate customers.")] = _DEFAULTS.customers,
    days: Annotated[int, typer.Option(help="Number of days to simulate.")] = _DEFAULTS.days,
    start: Annotated[str, typer.Option(help="First day, YYYY-MM-DD.")] = _DEFAULTS.start.isoformat(),
    fraud_rate: Annotated[float, typer.Option(help="Share of fraud-labelled rows.")] = _DEFAULTS.fraud_rate,
    label_noise: Annotated[float, typer.Option(help="Share of wrong fraud labels.")] = _DEFAULTS.label_noise,
    seed: Annotated[int, typer.Option(help="Random seed; same seed, same data.")] = _DEFAULTS.seed,
    fmt: Annotated[str, typer.Option("--format", help="parquet or jsonl.")] = "parquet",
    out: Annotated[Path | None, typer.Option(help="Output file (default data/simulated/).")] = None,
    drift: Annotated[
        str,
        typer.Option(
            help='Drift schedule, e.g. "day 20: card_testing x3; day 25: merchant_compromise on; '
            'day 22: amount x1.5; day 21: new_phone 30%" (see fraudstack/simulator/drift.py).'
        ),
    ] = "",
) -> None:
    """Simulate card transactions with personas, fraud archetypes and look-alikes."""
    if fmt not in SUFFIXES:
        raise ConfigError(f"invalid --format: {fmt!r} (choose parquet or jsonl)")
    output_format: OutputFormat = "parquet" if fmt == "parquet" else "jsonl"
    try:
        start_day = date.fromisoformat(start)
    except ValueError:
        raise ConfigError(f"invalid --start: {start!r} is not a YYYY-MM-DD date") from None
    config = SimulationConfig.create(
        customers=customers,
        days=days,
        start=start_day,
        fraud_rate=fraud_rate,
        label_noise=label_noise,
        seed=seed,
        drift=drift,
    )
    path = _output_path(out, output_format)
    console = Console(stderr=True)
    began = time.perf_counter()
    with Progress(
        TextColumn("simulating"), BarColumn(), MofNCompleteColumn(), TextColumn("days"), TimeElapsedColumn(),
        console=console, transient=True,
    ) as progress:  # fmt: skip
        task = progress.add_task("days", total=config.days)
        summary = write(config, path, output_format, on_day=lambda _: progress.advance(task))
    _print_summary(Console(), config, summary, time.perf_counter() - began)


def register(app: typer.Typer) -> None:
    app.command("simulate")(simulate)
