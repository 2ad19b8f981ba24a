"""``fraudstack drift --since ...``: measure one window of traffic against the current model's reference.

Why relative windows (``--since 1h``): the job is meant to run every hour on the last hour
(a scheduler, or a pipeline step, calls the same command), and an absolute time would have to
be computed by whatever schedules it. ``--since`` and ``--until`` also take ISO-8601 times
(UTC unless they say otherwise) to measure or re-measure a past window.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Annotated

import typer

from fraudstack.errors import ConfigError
from fraudstack.settings import load_settings

_RELATIVE = re.compile(r"^(\d+)([mhd])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days"}


def parse_time(value: str, option: str, now: datetime) -> datetime:
    """``30m``, ``1h``, ``2d`` (before ``now``) or an ISO-8601 time; naive times are UTC."""
    relative = _RELATIVE.match(value.strip())
    if relative:
        return now - timedelta(**{_UNITS[relative.group(2)]: int(relative.group(1))})
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise ConfigError(
            f"{option} {value!r}: give an ISO-8601 time (2025-01-05T10:00) or a span before now (30m, 1h, 2d)"
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def drift_command(
    since: Annotated[str, typer.Option(help="window start: ISO-8601 time, or a span before now (1h)")],
    until: Annotated[str | None, typer.Option(help="window end (default: now)")] = None,
) -> None:
    """Per-feature and score PSI of a window against the current model: CloudWatch and model_drift."""
    from fraudstack.drift import run

    now = datetime.now(UTC)
    start = parse_time(since, "--since", now)
    end = parse_time(until, "--until", now) if until is not None else now
    if end <= start:
        raise ConfigError(f"--until {end.isoformat()} is not after --since {start.isoformat()}")
    done = run(load_settings(), start, end)
    typer.echo(done.line())


def register(app: typer.Typer) -> None:
    """Add ``drift`` to the ``fraudstack`` command."""
    app.command("drift")(drift_command)
