"""Parameters of one simulation run, validated once with one-line errors.

Why pydantic plus :class:`ConfigError`: the CLI, the producer and tests all build a config;
each gets the same checks and the same readable message instead of a traceback.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from fraudstack.errors import ConfigError


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

    @model_validator(mode="after")
    def _not_contradictory(self) -> SimulationConfig:
        if self.label_noise > 0 and self.fraud_rate == 0:
            raise ValueError("label noise needs a fraud rate above 0 (there are no labels to corrupt)")
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
            shown = "" if not err["loc"] else f" (got {err.get('input')!r})"
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
        return hashlib.sha256(self.model_dump_json().encode()).hexdigest()[:8]
