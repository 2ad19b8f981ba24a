"""The drift job (``fraudstack drift --since ...``): live traffic against the current model's reference.

One run measures one window of transactions in the warehouse, ``[since, until)``:

1. **Features as the model saw them.** Features need each card's past, so the window's
   cards are read with :data:`~fraudstack.features.definitions.LOOKBACK` (30 days) of
   history from the star schema (facts joined with the customer, merchant and location
   dimensions give exactly the event's input columns) and go through the same
   :func:`~fraudstack.features.compute_features` as training and batch inference.
2. **Scores** of the window's rows by the current model.
3. **PSI** per feature and of the score against the reference histograms stored in the
   model manifest at training (:mod:`fraudstack.model.drift`).
4. **Published** as CloudWatch metrics through the services' metrics publisher
   (``FeaturePSI_<feature>``, ``MaxFeaturePSI``, ``ScorePSI``, ``BrokenFeatures``,
   ``DriftRows``; service ``drift``), where alarms can watch them, and **stored** in the
   warehouse table ``model_drift`` (one row per model version, window and feature; a rerun
   of a window overwrites its rows), where the dashboard and the promotion gate can read
   the history.

Why in the warehouse and not the lake: the warehouse holds the dimensions the input columns
come from and is what the pipeline has just loaded. The same SQL runs on Redshift.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from fraudstack.errors import FraudstackError
from fraudstack.features import compute_features
from fraudstack.features.definitions import ENTITY_FEATURES, LOOKBACK
from fraudstack.model.drift import Drift, measure, publish, status
from fraudstack.model.registry import current_version, load_current_model
from fraudstack.observability import MetricsPublisher
from fraudstack.settings import Settings
from fraudstack.warehouse import connect

TABLE = "model_drift"
_PROFILE_FEATURES = frozenset(f.name for group in ENTITY_FEATURES.values() for f in group)
COLUMNS = ("model_version", "window_start", "window_end", "metric", "kind", "psi", "status", "window_rows")

#: Each fact's input columns (:data:`STAR_NAMES`), from the star schema; retraining reads them too.
STAR_SELECT = """
SELECT f.transaction_id, f.event_ts, f.amount, c.account_created, f.card_id, f.lat, f.lon, l.country,
  f.device_id, f.ip_address, f.merchant_id, f.ip_is_vpn, m.merchant_category_code, f.channel, f.entry_mode,
  f.customer_id
FROM fact_transactions AS f
JOIN dim_customer AS c ON c.customer_id = f.customer_id
JOIN dim_merchant AS m ON m.merchant_id = f.merchant_id
JOIN dim_location AS l ON l.location_key = f.location_key
"""
#: The window's cards with their history (a model of card features only).
_HISTORY = (
    STAR_SELECT
    + """WHERE f.event_ts >= %s AND f.event_ts < %s
  AND f.card_id IN (SELECT w.card_id FROM fact_transactions AS w WHERE w.event_ts >= %s AND w.event_ts < %s)
"""
)
#: Every transaction of the history span: a merchant's, device's, IP's or customer's profile
#: needs all its cards' transactions, not only those of the window's cards.
_ALL_HISTORY = STAR_SELECT + "WHERE f.event_ts >= %s AND f.event_ts < %s\n"
#: The fraud verdicts known by the window's end, for the delayed-label features.
_KNOWN_FRAUD = """
SELECT l.transaction_id, l.known_at FROM fact_labels AS l
JOIN fact_transactions AS f ON f.transaction_id = l.transaction_id
WHERE l.is_fraud AND l.known_at < %s AND f.event_ts >= %s AND f.event_ts < %s
"""
STAR_NAMES = (
    "transaction_id",
    "event_time",
    "amount",
    "customer_account_created",
    "card_id",
    "lat",
    "lon",
    "country",
    "device_id",
    "ip_address",
    "merchant_id",
    "ip_is_vpn",
    "merchant_category_code",
    "channel",
    "entry_mode",
    "customer_id",
)


@dataclass
class DriftRun:
    """What one run measured, and where its time went."""

    model_version: str
    since: datetime
    until: datetime
    drift: Drift
    history_rows: int = 0
    read_s: float = 0.0
    features_s: float = 0.0
    measure_s: float = 0.0
    store_s: float = 0.0

    def rows(self) -> list[tuple[Any, ...]]:
        """The run's ``model_drift`` rows: one per feature and one for the score."""
        found: list[tuple[str, str, float]] = [("feature", k, v) for k, v in self.drift.features.items()]
        if self.drift.score is not None:
            found.append(("score", "score", self.drift.score))
        return [
            (
                self.model_version,
                self.since,
                self.until,
                metric,
                kind,
                round(psi, 6),
                status(psi),
                self.drift.rows,
            )
            for kind, metric, psi in found
        ]

    def line(self) -> str:
        if not self.drift.rows:
            return f"drift: no transactions in {self.since.isoformat()} .. {self.until.isoformat()}"
        worst = self.drift.worst
        broken = ", ".join(self.drift.broken) or "none"
        score = "n/a" if self.drift.score is None else f"{self.drift.score:.4f}"
        top = f"{worst[0]} {worst[1]:.4f}" if worst else "n/a"
        return (
            f"drift of {self.drift.rows:,} transactions against model {self.model_version}: "
            f"score PSI {score}, "
            f"highest feature PSI {top}, broken: {broken}"
        )


def window_history(
    settings: Settings, since: datetime, until: datetime, every_card: bool = False
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The history from ``LOOKBACK`` before ``since`` to ``until`` (schema columns) and the label
    events known by ``until``: the window's cards' transactions, or ``every_card``'s for a
    model with entity profiles."""
    history_from = since - timedelta(microseconds=LOOKBACK)
    with connect(settings) as wh:
        if every_card:
            rows = wh.query(_ALL_HISTORY, (history_from, until))
        else:
            rows = wh.query(_HISTORY, (history_from, until, since, until))
        known = wh.query(_KNOWN_FRAUD, (until, history_from, until))
    labels = pd.DataFrame(
        {
            "transaction_id": pd.Series([r[0] for r in known], dtype=str),
            "is_fraud": pd.Series([True] * len(known), dtype=bool),
            "known_at": pd.to_datetime(pd.Series([r[1] for r in known], dtype=object), utc=True),
        }
    )
    return pd.DataFrame(rows, columns=list(STAR_NAMES)), labels


def measure_window(settings: Settings, since: datetime, until: datetime) -> DriftRun:
    """Read, compute features, score and measure one window (nothing is published or stored)."""
    model = load_current_model(settings)
    reference = model.manifest.get("reference")
    if reference is None:
        raise FraudstackError(
            f"model {model.version} has no drift reference (trained before drift monitoring): retrain it"
        )
    started = time.perf_counter()
    profiles = bool(set(model.features) & _PROFILE_FEATURES)
    history, labels = window_history(settings, since, until, every_card=profiles)
    read = time.perf_counter()
    run = DriftRun(model.version, since, until, Drift(0, {}, None), history_rows=len(history))
    run.read_s = read - started
    if history.empty:
        return run
    times = pd.to_datetime(history["event_time"], utc=True)
    new = ((times >= since) & (times < until)).to_numpy()
    features = compute_features(history, labels)[new]
    computed = time.perf_counter()
    scores = model.score(features)
    run.drift = measure(reference, features, np.asarray(scores))
    run.features_s, run.measure_s = computed - read, time.perf_counter() - computed
    return run


def store(settings: Settings, run: DriftRun) -> None:
    """Upsert the run's rows into ``model_drift`` (a rerun of the window replaces them)."""
    rows = run.rows()
    if rows:
        with connect(settings) as wh:
            wh.upsert(TABLE, rows, columns=COLUMNS, update=True)


def run(settings: Settings, since: datetime, until: datetime | None = None) -> DriftRun:
    """Measure ``[since, until)`` (until: now), publish the metrics and store the rows."""
    window = measure_window(settings, since, until or datetime.now(UTC))
    started = time.perf_counter()
    metrics = MetricsPublisher(settings, "drift")
    publish(window.drift, metrics)
    metrics.close()
    store(settings, window)
    window.store_s = time.perf_counter() - started
    return window


#: The pipeline's window: a whole day, as docs/model-lifecycle.md says why (one hour reads the clock).
PIPELINE_WINDOW = timedelta(hours=24)


def latest_event(settings: Settings) -> datetime | None:
    """The newest transaction the warehouse holds (None when it holds none)."""
    with connect(settings) as wh:
        newest = wh.query("SELECT max(event_ts) FROM fact_transactions")[0][0]
    return None if newest is None else newest.astimezone(UTC)


def run_after_inference(settings: Settings) -> DriftRun | None:
    """The pipeline's drift step: the day up to the newest transaction loaded, if a model is current.

    Why the newest transaction and not the clock: on live traffic they are minutes apart,
    while a replayed or back-filled run (the simulator's days, a late batch) is measured on
    its own day rather than on an empty window. Before the first model there is nothing to
    compare with, and the pipeline must not fail for it: None.
    """
    if current_version(settings) is None:
        return None
    newest = latest_event(settings)
    if newest is None:
        return None
    until = newest + timedelta(microseconds=1)
    return run(settings, until - PIPELINE_WINDOW, until)
