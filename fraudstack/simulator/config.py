"""Parameters of one simulation run, validated once with one-line errors.

Why pydantic plus :class:`ConfigError`: the CLI, the producer and tests all build a config;
each gets the same checks and the same readable message instead of a traceback.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from fraudstack.errors import ConfigError
from fraudstack.simulator.drift import DriftEvent, parse_schedule


class SimulationConfig(BaseModel):
    """What to simulate. Defaults: a world that simulates 30 days in about a second."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    customers: int = Field(default=5_000, ge=10, le=20_000_000)
    days: int = Field(default=30, ge=1, le=3_650)
    start: date = Field(default=date(2025, 1, 1), description="first local calendar day")
    fraud_rate: float = Field(default=0.007, ge=0.0, le=0.2, description="share of fraud-labelled rows")
    label_noise: float = Field(
        default=0.01, ge=0.0, le=0.5, description="share of fraud labels that are wrong"
    )
    seed: int = Field(default=42, ge=0, le=2**63 - 1)
    drift: tuple[DriftEvent, ...] = Field(
        default=(), description="drift schedule (see fraudstack.simulator.drift), a spec string or events"
    )

    @field_validator("drift", mode="before")
    @classmethod
    def _parse_drift(cls, value: object) -> object:
        return parse_schedule(value) if isinstance(value, str) else value

    @model_validator(mode="after")
    def _not_contradictory(self) -> SimulationConfig:
        if self.label_noise > 0 and self.fraud_rate == 0:
            raise ValueError("label noise needs a fraud rate above 0 (there are no labels to corrupt)")
        late = [e for e in self.drift if e.day > self.days]
        if late:
            raise ValueError(f'--drift "{late[0]}" is past the run\'s last day (--days {self.days})')
        return self

    @classmethod
    def create(cls, **values: Any) -> SimulationConfig:
        """Build a config, turning validation errors into one :class:`ConfigError` line."""
        try:
            return cls(**values)
        except ValidationError as exc:
            err = exc.errors(include_url=False)[0]
            name = "--" + str(err["loc"][0]).replace("_", "-") if err["loc"] else "parameters"
            msg = err["msg"].removeprefix("Value error, ")
            # A drift message quotes the event at fault; the whole schedule would repeat it.
            shown = "" if not err["loc"] or err["loc"][0] == "drift" else f" (got {err.get('input')!r})"
            raise ConfigError(f"invalid {name}: {msg}{shown}") from None

    @property
    def start_utc(self) -> datetime:
        return datetime(self.start.year, self.start.month, self.start.day, tzinfo=UTC)

    @property
    def run_tag(self) -> str:
        """8 hex chars naming this exact run; part of every transaction id.

        Same config -> same ids (re-loading is an idempotent upsert); a different seed or
        window -> different ids, so two runs never collide in one warehouse.
        """
        # Without drift the tag is what it was before the schedule existed (same ids, same data).
        dump = self.model_dump_json(exclude={"drift"} if not self.drift else None)
        return hashlib.sha256(dump.encode()).hexdigest()[:8]
