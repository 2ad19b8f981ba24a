"""Simulated transaction streams for tests of what consumes them (scorer, validator, wire format)."""

from __future__ import annotations

from typing import Any

from fraudstack.simulator import SimulationConfig
from fraudstack.simulator.stream import iter_events


def stream_events(customers: int, days: int, seed: int) -> list[dict[str, Any]]:
    """A simulated stream with enough fraud that reviews and declines occur in a few thousand events."""
    return list(iter_events(SimulationConfig(customers=customers, days=days, fraud_rate=0.05, seed=seed)))
