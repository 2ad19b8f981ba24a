"""The labels a model could have known when it was trained.

Why: a fraud's label arrives days or weeks after the transaction (a chargeback), hours after
for a share (an analyst), never for some. A model trained at time ``T`` learns only from the
frauds known by ``T``; the rest look legitimate to it. Training on every eventual label
instead would teach the model from verdicts it cannot have had, and the report would
promise more than the deployed model delivers, most of all on the archetypes whose labels
come late.

The cut-off is the deployment moment: the start of the test window. The train and
validation windows (fit, early stopping, threshold) see their labels as known then; the
test window is scored against every eventual label, since it measures what the model really
catches. When is a label known:

* with label events (:mod:`fraudstack.labels`: the simulator's, or a ``fact_labels``
  export): a fraud is known from the earliest ``known_at`` of its fraud verdicts; a fraud
  with no verdict is never known;
* without them (a labelled file with an ``is_fraud`` column only): a fraud is known a fixed
  delay after its transaction (:data:`fraudstack.labels.DEFAULT_LABEL_DELAY` unless set).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import numpy as np
import pandas as pd

LABEL = "is_fraud"


@dataclass(frozen=True)
class KnownLabels:
    """Per-row labels as known at ``cutoff``, and how many frauds each window did not know yet."""

    known: np.ndarray  # bool per row: a fraud whose label was known by the cut-off
    cutoff: pd.Timestamp
    basis: str  # how the times were obtained, for the report
    frauds: dict[str, int]  # eventual frauds per window
    unknown: dict[str, int]  # of those, not known by the cut-off

    def describe(self) -> dict[str, Any]:
        """The manifest's record of it (JSON values)."""
        return {
            "cutoff": self.cutoff.isoformat(),
            "basis": self.basis,
            "frauds": self.frauds,
            "unknown_at_cutoff": self.unknown,
        }


def first_known(frame: pd.DataFrame, labels: pd.DataFrame | None, delay: timedelta) -> pd.Series:
    """When each row's fraud label became known (UTC; NaT for legitimate rows and never-known frauds).

    ``labels`` holds label events (``transaction_id``, ``is_fraud``, ``known_at``); without
    them every fraud is taken to be known ``delay`` after its ``event_time``.
    """
    fraud = frame[LABEL].to_numpy(dtype=bool)
    event_time = pd.to_datetime(frame["event_time"], utc=True)
    if labels is None:
        return (event_time + delay).where(fraud)
    verdicts = labels[labels[LABEL].astype(bool)]
    earliest = (
        pd.to_datetime(verdicts["known_at"], utc=True).groupby(verdicts["transaction_id"].astype(str)).min()
    )
    known = frame["transaction_id"].astype(str).map(earliest)
    return pd.to_datetime(known, utc=True).where(fraud)


def known_by(
    frame: pd.DataFrame,
    windows: dict[str, np.ndarray],
    cutoff: pd.Timestamp,
    labels: pd.DataFrame | None,
    delay: timedelta,
) -> KnownLabels:
    """The frauds known at ``cutoff``, with per-window counts of those still unknown then."""
    when = first_known(frame, labels, delay)
    known = (when <= cutoff).fillna(False).to_numpy(dtype=bool)
    fraud = frame[LABEL].to_numpy(dtype=bool)
    basis = (
        "label events (each fraud known from its first verdict; never, without one)"
        if labels is not None
        else f"no label times: each fraud taken as known {delay.total_seconds() / 86_400:g} days after it"
    )
    return KnownLabels(
        known=known,
        cutoff=cutoff,
        basis=basis,
        frauds={name: int(fraud[mask].sum()) for name, mask in windows.items()},
        unknown={name: int((fraud & ~known)[mask].sum()) for name, mask in windows.items()},
    )
