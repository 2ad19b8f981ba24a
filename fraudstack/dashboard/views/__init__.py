"""One module per dashboard view; each has ``render(ctx)`` and shows its own empty states."""

from __future__ import annotations

from dataclasses import dataclass

from fraudstack.dashboard.filters import Filters


@dataclass(frozen=True)
class Context:
    """What every view receives: the shared filters and the model version predictions come from."""

    filters: Filters
    model_version: str | None
