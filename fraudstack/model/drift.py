"""Population stability: reference histograms at training time, drift of live data against them.

Why the population stability index (PSI) over quantile bins: a model is only as good as the
resemblance of what it scores to what it learned from, and PSI says how far one
distribution moved from another in one number per feature, cheaply (one ``searchsorted`` per
feature) and with conventional thresholds a fraud team already reads: under 0.1 stable,
0.1-0.25 a moderate shift worth watching, from 0.25 a shift the model was not trained for
(:data:`BROKEN_PSI`; a feature whose pipeline broke - all missing, a unit change - lands far
above it). Quantile bins of the training data give each bin the same expected share, so no
bin is too thin to compare; missing values (a card's first transaction has no "previous")
get a bin of their own, because a feature that suddenly goes missing is drift too.

The reference is computed once, at training, and stored in the model manifest
(``manifest["reference"]``): features over the validation window, scores over the untouched
test window. Why validation and not the training window: the training window starts right
after the warm-up days, while cards' 7- and 30-day histories are still filling, so counts
and "new device / merchant" flags there are not what a running system sees (on a 14-day
simulation the test window's ``n_7d`` read PSI 1.1 against the training window, 0.02 against
validation); validation is the latest window the trees were not fitted on and the one the
alert threshold was chosen on. Why the test window for the score: the model has not seen it
at all.

Calendar features (``hour``, ``weekday``) are left out: over an hour or a few days of traffic
their distribution is set by the window's position in time, not by the traffic, and would
read as broken every hour.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from fraudstack.observability import MetricsPublisher

#: Interior cut points of the feature histograms: deciles of the training data.
FEATURE_QUANTILES: tuple[float, ...] = tuple(i / 10 for i in range(1, 10))
#: The score is concentrated near zero; extra cuts in the tail keep the alert region visible.
SCORE_QUANTILES: tuple[float, ...] = (*FEATURE_QUANTILES, 0.95, 0.99, 0.999)
#: Features whose short-window distribution follows the clock, not the traffic.
CALENDAR_FEATURES = frozenset({"hour", "weekday"})
#: PSI from which a shift is "moderate" (watch) and "broken" (the model was not trained for it).
MODERATE_PSI = 0.1
BROKEN_PSI = 0.25
#: Bin shares are floored here so that an empty bin on either side gives a finite PSI.
_SHARE_FLOOR = 1e-4


@dataclass(frozen=True)
class Histogram:
    """Quantile bins of one variable: interior cut points and the share of rows in each bin.

    ``shares`` has ``len(edges) + 2`` entries: ``len(edges) + 1`` value bins (a value ``v``
    falls in bin ``searchsorted(edges, v, side="right")``) and the missing-value bin last.
    """

    edges: tuple[float, ...]
    shares: tuple[float, ...]
    rows: int

    @classmethod
    def of(cls, values: np.ndarray, quantiles: Iterable[float]) -> Histogram:
        """The reference histogram of ``values``: cut points at its quantiles (ties merged)."""
        present = values[~np.isnan(values)]
        edges = (
            tuple(float(e) for e in np.unique(np.quantile(present, list(quantiles)))) if len(present) else ()
        )
        counts = _bin_counts(edges, values)
        return cls(edges, tuple(float(s) for s in counts / max(len(values), 1)), len(values))

    def counts(self, values: np.ndarray) -> np.ndarray:
        """Rows of ``values`` per bin of this histogram (missing values in the last bin)."""
        return _bin_counts(self.edges, values)

    def psi(self, values: np.ndarray) -> float:
        """Population stability index of ``values`` against this reference (0: the same shares)."""
        return self.psi_of_counts(self.counts(values))

    def psi_of_counts(self, counts: np.ndarray) -> float:
        """PSI of rows already binned by :meth:`counts` (summed over slices of a stream)."""
        actual = np.maximum(counts / max(counts.sum(), 1.0), _SHARE_FLOOR)
        expected = np.maximum(np.asarray(self.shares), _SHARE_FLOOR)
        return float(np.sum((actual - expected) * np.log(actual / expected)))

    def as_dict(self) -> dict[str, Any]:
        return {"edges": list(self.edges), "shares": list(self.shares), "rows": self.rows}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Histogram:
        return cls(tuple(data["edges"]), tuple(data["shares"]), int(data["rows"]))


def _bin_counts(edges: tuple[float, ...], values: np.ndarray) -> np.ndarray:
    missing = np.isnan(values)
    bins = np.searchsorted(np.asarray(edges), values[~missing], side="right")
    counts = np.bincount(bins, minlength=len(edges) + 1).astype(np.float64)
    return np.append(counts, float(missing.sum()))


def status(psi: float) -> str:
    """``stable``, ``moderate`` or ``broken`` by the conventional PSI thresholds."""
    if psi >= BROKEN_PSI:
        return "broken"
    return "moderate" if psi >= MODERATE_PSI else "stable"


def reference(features: pd.DataFrame, scores: np.ndarray) -> dict[str, Any]:
    """The manifest's ``reference``: a histogram per monitored feature and one of the score."""
    return {
        "features": {
            name: Histogram.of(features[name].to_numpy(dtype=np.float64), FEATURE_QUANTILES).as_dict()
            for name in features.columns
            if name not in CALENDAR_FEATURES
        },
        "score": Histogram.of(np.asarray(scores, dtype=np.float64), SCORE_QUANTILES).as_dict(),
    }


@dataclass(frozen=True)
class Drift:
    """PSI of one window against a model's reference: per feature, and of the score."""

    rows: int
    features: dict[str, float]
    score: float | None

    @property
    def broken(self) -> dict[str, float]:
        """The features at or above :data:`BROKEN_PSI`, worst first."""
        found = {name: value for name, value in self.features.items() if value >= BROKEN_PSI}
        return dict(sorted(found.items(), key=lambda item: -item[1]))

    @property
    def worst(self) -> tuple[str, float] | None:
        """The feature with the highest PSI, or None when no feature is monitored."""
        return max(self.features.items(), key=lambda item: item[1]) if self.features else None


def measure(ref: Mapping[str, Any], features: pd.DataFrame, scores: np.ndarray | None = None) -> Drift:
    """Drift of a window (its feature rows and, when given, its scores) against ``ref``.

    Only features both the reference and the window have are measured (a model trained
    without a feature has no reference for it).
    """
    measured = {
        name: Histogram.from_dict(hist).psi(features[name].to_numpy(dtype=np.float64))
        for name, hist in ref["features"].items()
        if name in features.columns
    }
    score = None
    if scores is not None:
        score = Histogram.from_dict(ref["score"]).psi(np.asarray(scores, dtype=np.float64))
    return Drift(rows=len(features), features=measured, score=score)


def publish(drift: Drift, metrics: MetricsPublisher) -> None:
    """A window's figures as CloudWatch metrics (one datum each; sent on the publisher's next flush).

    The pipeline's drift step and the streaming scorer both publish through here with the
    service ``drift``, so the template's alarms on ``MaxFeaturePSI`` and ``ScorePSI`` watch both.
    """
    if not drift.rows:
        return
    for name, psi in drift.features.items():
        metrics.observe(f"FeaturePSI_{name}", psi, unit="None")
    worst = drift.worst
    if worst is not None:
        metrics.observe("MaxFeaturePSI", worst[1], unit="None")
    if drift.score is not None:
        metrics.observe("ScorePSI", drift.score, unit="None")
    metrics.observe("BrokenFeatures", float(len(drift.broken)), unit="Count")
    metrics.observe("DriftRows", float(drift.rows), unit="Count")
