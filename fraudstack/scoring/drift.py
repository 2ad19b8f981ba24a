"""Drift inside the streaming scorer: PSI of the traffic it scored against its model's reference.

Why here as well as in the pipeline's hourly step (:mod:`fraudstack.drift`): the pipeline
sees traffic after Firehose, the ETL and the warehouse load, an hour or more late; the
scorer sees every transaction the moment it decides it, with the very features and scores
the model used, so a broken feature upstream of the scorer (a producer sending amounts in
cents, a device id gone missing) reads as drift within minutes.

What it measures, every ``scorer_drift_seconds``: the population stability index per
monitored feature and of the score over the trailing ``scorer_drift_window_seconds`` of
scored traffic (default a day, as the pipeline measures: one hour of traffic against a
reference taken over whole days reads the clock - docs/model-lifecycle.md), against the
histograms stored in the model's manifest at training (:mod:`fraudstack.model.drift`).
Nothing is published below ``scorer_drift_min_rows`` rows: a few hundred rows read as drift
by sampling noise alone. The figures go out under the same names and the same ``Service=drift``
dimension as the pipeline step's (:func:`fraudstack.model.drift.publish`), so the template's
``feature-drift`` and ``score-drift`` alarms (Maximum over an hour) fire on either.

Cost on the hot path: per batch, a copy of the monitored columns of the feature matrix the
loop has already built (float64, as training binned them: the model's float32 inputs would
move values that sit on a bin edge) and a list append. Every :data:`HANDOFF_SECONDS` a
worker thread bins what was collected (so at most that much traffic is held), and once per
interval publishes the window's PSI from a running sum of its bin counts; the trailing window
is kept as bin counts per hand-off, a few kilobytes each whatever the traffic. A model
switch starts the window afresh: the new model has its own reference. The window follows
the scorer's clock, not event time.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from fraudstack.features.definitions import FEATURE_INDEX
from fraudstack.model.drift import CALENDAR_FEATURES, Drift, Histogram, publish
from fraudstack.observability import MetricsPublisher
from fraudstack.scoring.models import ScoringModel
from fraudstack.settings import Settings

log = logging.getLogger(__name__)

#: The service the figures are published under: the pipeline step's, so one alarm covers both.
SERVICE = "drift"
#: Seconds of scored traffic collected before the worker bins it (bounds the memory it holds).
HANDOFF_SECONDS = 5.0


@dataclass(frozen=True)
class _Reference:
    """A model's reference histograms and where each monitored feature sits in an online row."""

    version: str
    features: dict[str, Histogram]
    columns: np.ndarray  # indices into an OnlineFeatures row, in the order of ``features``
    score: Histogram

    @classmethod
    def of(cls, model: ScoringModel) -> _Reference | None:
        """None for a model trained before drift monitoring (no reference in its manifest)."""
        ref = model.model.manifest.get("reference")
        if ref is None:
            return None
        features = {
            name: Histogram.from_dict(hist)
            for name, hist in ref["features"].items()
            if name in model.model.features and name not in CALENDAR_FEATURES
        }
        return cls(
            version=model.version,
            features=features,
            columns=np.array([FEATURE_INDEX[name] for name in features], dtype=np.intp),
            score=Histogram.from_dict(ref["score"]),
        )

    def counts(self, values: np.ndarray, scores: np.ndarray) -> dict[str, np.ndarray]:
        """Bin counts of rows (``values``: the monitored columns): per feature, and of the score as ``""``."""
        found = {name: hist.counts(values[:, i]) for i, (name, hist) in enumerate(self.features.items())}
        found[""] = self.score.counts(scores)
        return found


@dataclass
class _Slice:
    """One hand-off's bin counts."""

    ended: float
    rows: int
    counts: dict[str, np.ndarray]


class _Window:
    """The trailing window's slices, with their running sum (a publish costs no re-summing)."""

    def __init__(self) -> None:
        self._slices: deque[_Slice] = deque()
        self.rows = 0
        self.total: dict[str, np.ndarray] = {}

    def add(self, part: _Slice) -> None:
        self._slices.append(part)
        self.rows += part.rows
        for key, counts in part.counts.items():
            found = self.total.get(key)
            self.total[key] = counts.copy() if found is None else found + counts

    def expire(self, before: float) -> None:
        """Drop the slices that ended at or before ``before`` (counts are whole numbers: exact)."""
        while self._slices and self._slices[0].ended <= before:
            part = self._slices.popleft()
            self.rows -= part.rows
            for key, counts in part.counts.items():
                self.total[key] = self.total[key] - counts

    def clear(self) -> None:
        self._slices.clear()
        self.rows = 0
        self.total = {}


class StreamDrift:
    """Collects each batch's features and scores; measures and publishes the trailing window."""

    def __init__(self, settings: Settings, metrics: MetricsPublisher | None = None) -> None:
        self.interval = settings.scorer_drift_seconds
        self.window = settings.scorer_drift_window_seconds
        self.min_rows = settings.scorer_drift_min_rows
        self._metrics = metrics if metrics is not None else MetricsPublisher(settings, SERVICE)
        self._owned = metrics is None
        self._reference: _Reference | None = None
        self._pending: list[tuple[np.ndarray, np.ndarray]] = []
        now = time.monotonic()
        self._handoff_due = now + min(HANDOFF_SECONDS, self.interval)
        self._publish_due = now + self.interval
        self._window = _Window()
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="stream-drift")
        #: The last window published (None before the first): for logs and tests.
        self.last: Drift | None = None

    def observe(self, model: ScoringModel, matrix: np.ndarray, scores: np.ndarray) -> None:
        """Note a scored batch: ``matrix`` its online feature rows (float64), ``scores`` the model's."""
        if self._reference is None or self._reference.version != model.version:
            self._switch(model)
        if self._reference is not None:
            self._pending.append((matrix[:, self._reference.columns], scores))

    def tick(self, now: float) -> None:
        """Hand the collected batches to the worker, and publish, when due (called by the loop)."""
        if now < self._handoff_due:
            return
        self._handoff_due = now + min(HANDOFF_SECONDS, self.interval)
        publish_now = now >= self._publish_due
        if publish_now:
            self._publish_due = now + self.interval
        pending, self._pending = self._pending, []
        if pending or publish_now:
            self._pool.submit(self._work, self._reference, pending, now, publish_now)

    def close(self) -> None:
        """Finish the work in progress (nothing more is published)."""
        self._pool.shutdown(wait=True)
        if self._owned:
            self._metrics.close()

    def _switch(self, model: ScoringModel) -> None:
        """Another model, another reference: what was collected for the previous one is dropped."""
        self._reference = _Reference.of(model)
        self._pending = []
        self._pool.submit(self._window.clear)
        if self._reference is None:
            log.warning(
                "model has no drift reference: the scorer measures no drift",
                extra={"model_version": model.version},
            )

    # --- on the worker thread --------------------------------------------------------------------
    def _work(
        self,
        ref: _Reference | None,
        pending: list[tuple[np.ndarray, np.ndarray]],
        now: float,
        publish_now: bool,
    ) -> None:
        try:
            if ref is not None and pending:
                values = np.concatenate([v for v, _ in pending])
                scores = np.concatenate([s for _, s in pending])
                self._window.add(_Slice(now, len(values), ref.counts(values, scores)))
            self._window.expire(now - self.window)
            if publish_now and ref is not None:
                self._publish(ref)
        except Exception:
            # Monitoring must never stop the decisions: log it; the next hand-off tries again.
            log.exception("stream drift measurement failed")

    def _publish(self, ref: _Reference) -> None:
        drift = self._drift(ref)
        if drift is None:
            return
        publish(drift, self._metrics)
        if self._owned:
            self._metrics.flush()
        self.last = drift
        worst = drift.worst
        log.info(
            "stream drift",
            extra={
                "model_version": ref.version,
                "rows": drift.rows,
                "score_psi": drift.score,
                "features": drift.features,
                "max_feature": None if worst is None else worst[0],
                "broken": list(drift.broken),
            },
        )

    def _drift(self, ref: _Reference) -> Drift | None:
        """PSI of the trailing window, or None below ``min_rows`` rows."""
        rows, total = self._window.rows, self._window.total
        if rows < self.min_rows:
            return None
        features = {name: hist.psi_of_counts(total[name]) for name, hist in ref.features.items()}
        return Drift(rows=rows, features=features, score=ref.score.psi_of_counts(total[""]))
