"""Automatic rollback: a newly promoted model whose delayed-label precision falls below its predecessor's.

Precision here is the share of a model's flags (``review`` or ``decline`` in
``fraud_predictions``) that turned out to be fraud (a fraud verdict in ``fact_labels``).

Why at a fixed label age: labels arrive late (chargebacks after days to weeks). A newly
promoted model's flags are young, so its precision with the labels known *now* would read
low against a predecessor whose flags had weeks to be confirmed, and every promotion would
be rolled back. Both models are therefore judged alike: a flag counts only once it is
``maturity`` old, and as confirmed only if its fraud verdict was known within ``maturity``
of the transaction. "Now" is the newest transaction loaded, as for the drift step.

The figures are the stored per-day ones (:mod:`fraudstack.model.performance`, table
``model_performance``): each check first refreshes the recent days with the labels known,
then sums each model's flags and confirmed flags over its mature days - the days the
dashboard's model-health view shows.

Only a model made current by a promotion is judged (a rollback's target is not rolled back
again), and only when both models have ``min_flags`` mature flags: on fewer, one fraud more
or less moves precision by more than the margin.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from fraudstack.drift import latest_event
from fraudstack.model import registry
from fraudstack.model.performance import MATURITY, mature_flags, refresh
from fraudstack.settings import Settings

MIN_FLAGS = 30
#: How far below its predecessor's precision a promoted model may fall before it is rolled back.
MARGIN = 0.05


@dataclass(frozen=True)
class Precision:
    """One model's mature flags and how many of them were confirmed fraud in time."""

    version: str
    flagged: int
    confirmed: int

    @property
    def value(self) -> float:
        return self.confirmed / self.flagged if self.flagged else 0.0


def delayed_precision(settings: Settings, versions: tuple[str, str]) -> dict[str, Precision]:
    """Precision of each version's flags over its mature days, as ``model_performance`` holds them."""
    found = mature_flags(settings, versions)
    return {version: Precision(version, *found[version]) for version in versions}


def check(
    settings: Settings, maturity: timedelta = MATURITY, min_flags: int = MIN_FLAGS, margin: float = MARGIN
) -> str:
    """Store the recent days' delayed-label figures, then roll the current model back if its
    precision fell below its predecessor's; says what it did."""
    now = latest_event(settings)
    if now is None:
        return "watch: no transaction yet"
    refresh(settings, now, maturity=maturity)
    pointer = registry.pointer(settings)
    if pointer is None or pointer.get("action") != "promote" or pointer.get("previous") is None:
        return "watch: no promoted model with a predecessor to compare"
    current, previous = str(pointer["version"]), str(pointer["previous"])
    found = delayed_precision(settings, (current, previous))
    mine, theirs = found[current], found[previous]
    figures = (
        f"precision {mine.value:.3f} ({mine.confirmed}/{mine.flagged} mature flags) vs "
        f"{previous} {theirs.value:.3f} ({theirs.confirmed}/{theirs.flagged})"
    )
    if min(mine.flagged, theirs.flagged) < min_flags:
        return f"watch: {current} not judged yet, fewer than {min_flags} mature flags: {figures}"
    if mine.value >= theirs.value - margin:
        return f"watch: {current} kept: {figures}"
    reason = f"delayed-label {figures}, below by more than {margin}"
    registry.rollback(settings, reason, by="automatic rollback (fraudstack.model.watch)")
    return f"watch: rolled back {current} to {previous}: {reason}"
