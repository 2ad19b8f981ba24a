"""Automatic rollback: a newly promoted model whose delayed-label precision falls below its predecessor's.

Precision here is the share of a model's flags (``review`` or ``decline`` in
``fraud_predictions``) that turned out to be fraud (a fraud verdict in ``fact_labels``).

Why at a fixed label age: labels arrive late (chargebacks after days to weeks). A newly
promoted model's flags are young, so its precision with the labels known *now* would read
low against a predecessor whose flags had weeks to be confirmed, and every promotion would
be rolled back. Both models are therefore judged alike: a flag counts only once it is
``maturity`` old, and as confirmed only if its fraud verdict was known within ``maturity``
of the transaction. "Now" is the newest transaction loaded, as for the drift step.

Only a model made current by a promotion is judged (a rollback's target is not rolled back
again), and only when both models have ``min_flags`` mature flags: on fewer, one fraud more
or less moves precision by more than the margin.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import pandas as pd

from fraudstack.drift import latest_event
from fraudstack.model import registry
from fraudstack.settings import Settings
from fraudstack.warehouse import connect

MATURITY = timedelta(days=7)
MIN_FLAGS = 30
#: How far below its predecessor's precision a promoted model may fall before it is rolled back.
MARGIN = 0.05

_FLAGS = """
SELECT p.model_version, f.event_ts, l.known_at
FROM fraud_predictions AS p
JOIN fact_transactions AS f ON f.transaction_id = p.transaction_id
LEFT JOIN (
  SELECT transaction_id, min(known_at) AS known_at FROM fact_labels WHERE is_fraud GROUP BY transaction_id
) AS l ON l.transaction_id = p.transaction_id
WHERE p.model_version IN (%s, %s) AND p.decision IN ('review', 'decline') AND f.event_ts < %s
"""


@dataclass(frozen=True)
class Precision:
    """One model's mature flags and how many of them were confirmed fraud in time."""

    version: str
    flagged: int
    confirmed: int

    @property
    def value(self) -> float:
        return self.confirmed / self.flagged if self.flagged else 0.0


def delayed_precision(
    settings: Settings, versions: tuple[str, str], now: datetime, maturity: timedelta = MATURITY
) -> dict[str, Precision]:
    """Precision of each version's flags at least ``maturity`` old, confirmed within ``maturity``."""
    with connect(settings) as wh:
        rows = wh.query(_FLAGS, (*versions, now - maturity))
    flags = pd.DataFrame(rows, columns=["model_version", "event_ts", "known_at"])
    lag = pd.to_datetime(flags["known_at"], utc=True) - pd.to_datetime(flags["event_ts"], utc=True)
    flags["confirmed"] = lag.notna() & (lag <= maturity)
    return {
        version: Precision(
            version,
            int((flags["model_version"] == version).sum()),
            int(flags.loc[flags["model_version"] == version, "confirmed"].sum()),
        )
        for version in versions
    }


def check(
    settings: Settings, maturity: timedelta = MATURITY, min_flags: int = MIN_FLAGS, margin: float = MARGIN
) -> str:
    """Roll the current model back if its precision fell below its predecessor's; says what it did."""
    pointer = registry.pointer(settings)
    if pointer is None or pointer.get("action") != "promote" or pointer.get("previous") is None:
        return "watch: no promoted model with a predecessor to compare"
    current, previous = str(pointer["version"]), str(pointer["previous"])
    now = latest_event(settings)
    if now is None:
        return "watch: no transaction yet"
    found = delayed_precision(settings, (current, previous), now, maturity)
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
