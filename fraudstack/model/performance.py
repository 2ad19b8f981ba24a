"""Delayed-label performance of each model version, per day, stored as the labels arrive.

What a day's row holds, for one model version's predictions (``fraud_predictions``, written
by the batch inference job) on the transactions of that UTC day: how many it scored, how
many turned out fraud, how many it flagged (``review`` / ``decline``) and how many of those
were fraud - their ratio, the flag precision - its recall at the alert budget (the top
``budget`` of its scores that day, :func:`fraudstack.model.metrics.at_budget`) and its
average precision. Figures are NULL where they are undefined (no fraud, no flag).

Why at a fixed label age: a fraud counts only if its verdict was known within ``maturity``
(7 days) of the transaction, so a day's figures stop moving once it is ``maturity`` old
(``mature``), and a new model's days are judged like its predecessor's were, not with the
extra weeks of chargebacks the older days had (:mod:`fraudstack.model.watch` says why
that matters for the rollback). Until then the row is recomputed at each run with the
labels known so far (``labels_as_of``): the dashboard shows performance as labels arrive.

"Now" is the newest transaction loaded, as for the drift step, so a replayed or back-filled
run is measured on its own clock. Each run recomputes the days of the last ``days`` (35: the
maturity plus a month of history for the dashboard) and upserts them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score

from fraudstack.model.metrics import at_budget
from fraudstack.settings import Settings
from fraudstack.warehouse import connect

TABLE = "model_performance"
MATURITY = timedelta(days=7)
ALERT_BUDGET = 0.005
#: Days recomputed per run: the maturity and a month of history besides.
DAYS = 35
COLUMNS = (
    "model_version",
    "window_start",
    "window_end",
    "scored",
    "frauds",
    "flagged",
    "confirmed",
    "flag_precision",
    "recall_at_budget",
    "alert_budget",
    "average_precision",
    "mature",
    "labels_as_of",
)
_PREDICTIONS = """
SELECT p.model_version, f.event_ts, f.amount, p.score, p.decision, l.known_at
FROM fraud_predictions AS p
JOIN fact_transactions AS f ON f.transaction_id = p.transaction_id
LEFT JOIN (
  SELECT transaction_id, min(known_at) AS known_at FROM fact_labels
  WHERE is_fraud AND known_at <= %s GROUP BY transaction_id
) AS l ON l.transaction_id = p.transaction_id
WHERE f.event_ts >= %s AND f.event_ts < %s
"""


@dataclass(frozen=True)
class DayFigures:
    """One version's figures on one day (a ``model_performance`` row)."""

    model_version: str
    window_start: datetime
    scored: int
    frauds: int
    flagged: int
    confirmed: int
    flag_precision: float | None
    recall_at_budget: float | None
    average_precision: float | None
    mature: bool

    def row(self, budget: float, now: datetime) -> tuple[object, ...]:
        return (
            self.model_version,
            self.window_start,
            self.window_start + timedelta(days=1),
            self.scored,
            self.frauds,
            self.flagged,
            self.confirmed,
            self.flag_precision,
            self.recall_at_budget,
            budget,
            self.average_precision,
            self.mature,
            now,
        )


def figures(
    frame: pd.DataFrame, now: datetime, maturity: timedelta = MATURITY, budget: float = ALERT_BUDGET
) -> list[DayFigures]:
    """Per version and UTC day of ``frame`` (model_version, event_ts, amount, score, decision,
    known_at): the day's figures with the frauds known within ``maturity`` of each transaction."""
    if frame.empty:
        return []
    times = pd.to_datetime(frame["event_ts"], utc=True)
    lag = pd.to_datetime(frame["known_at"], utc=True) - times
    data = frame.assign(
        day=times.dt.floor("D"),
        fraud=(lag.notna() & (lag <= maturity)).to_numpy(),
        flag=frame["decision"].isin(("review", "decline")).to_numpy(),
    )
    found = []
    for (version, day), rows in data.groupby(["model_version", "day"], sort=True):
        labels = rows["fraud"].to_numpy(dtype=bool)
        scores = rows["score"].to_numpy(dtype=np.float64)
        flags = rows["flag"].to_numpy(dtype=bool)
        frauds, flagged = int(labels.sum()), int(flags.sum())
        confirmed = int((labels & flags).sum())
        start = pd.Timestamp(day).to_pydatetime()
        amounts = rows["amount"].to_numpy(dtype=np.float64)
        found.append(
            DayFigures(
                model_version=str(version),
                window_start=start,
                scored=len(rows),
                frauds=frauds,
                flagged=flagged,
                confirmed=confirmed,
                flag_precision=round(confirmed / flagged, 6) if flagged else None,
                recall_at_budget=(
                    round(float(at_budget(labels, scores, amounts, budget)["recall"]), 6) if frauds else None
                ),
                average_precision=(
                    round(float(average_precision_score(labels, scores)), 6) if frauds else None
                ),
                mature=start + timedelta(days=1) + maturity <= now,
            )
        )
    return found


def refresh(
    settings: Settings,
    now: datetime,
    days: int = DAYS,
    maturity: timedelta = MATURITY,
    budget: float = ALERT_BUDGET,
) -> list[DayFigures]:
    """Recompute and upsert the ``days`` UTC days up to ``now`` with the labels known by then."""
    until = now + timedelta(microseconds=1)
    since = (now - timedelta(days=days)).replace(hour=0, minute=0, second=0, microsecond=0)
    with connect(settings) as wh:
        rows = wh.query(_PREDICTIONS, (until, since, until))
        names = ["model_version", "event_ts", "amount", "score", "decision", "known_at"]
        frame = pd.DataFrame(rows, columns=names)
        found = figures(frame, now, maturity, budget)
        if found:
            wh.upsert(TABLE, [f.row(budget, now) for f in found], columns=COLUMNS, update=True)
    return found


def mature_flags(settings: Settings, versions: tuple[str, ...]) -> dict[str, tuple[int, int]]:
    """Per version: (flags, confirmed flags) summed over its mature days in ``model_performance``."""
    with connect(settings) as wh:
        rows = wh.query(
            f"SELECT model_version, sum(flagged), sum(confirmed) FROM {TABLE} "
            "WHERE mature AND model_version IN %s GROUP BY model_version",
            (tuple(versions),),
        )
    found = {str(v): (int(f or 0), int(c or 0)) for v, f, c in rows}
    return {v: found.get(v, (0, 0)) for v in versions}


def line(found: list[DayFigures]) -> str:
    """One line on a refresh: how many version-days, how many mature."""
    mature = sum(f.mature for f in found)
    versions = len({f.model_version for f in found})
    return f"performance: {len(found)} version-days of {versions} versions updated ({mature} mature)"
