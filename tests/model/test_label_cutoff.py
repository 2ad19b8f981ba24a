"""Which labels a model trained at a cut-off could have known."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pandas as pd

from fraudstack.labels import DEFAULT_LABEL_DELAY
from fraudstack.model.label_cutoff import first_known, known_by

T0 = pd.Timestamp("2025-03-01", tz="UTC")


def _frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "transaction_id": ["a", "b", "c", "d", "e"],
            "event_time": [T0, T0, T0 + pd.Timedelta(days=1), T0 + pd.Timedelta(days=2), T0],
            "is_fraud": [True, True, True, False, True],
        }
    )


def _events() -> pd.DataFrame:
    day = pd.Timedelta(days=1)
    return pd.DataFrame(
        {
            "transaction_id": ["a", "a", "b", "c", "d"],
            "is_fraud": [True, True, True, False, True],
            "source": ["chargeback", "analyst", "chargeback", "analyst", "chargeback"],
            "known_at": [T0 + 20 * day, T0 + pd.Timedelta(hours=3), T0 + 12 * day, T0 + day, T0 + 3 * day],
        }
    )


def test_a_fraud_is_known_from_its_first_verdict_and_never_without_one() -> None:
    when = first_known(_frame(), _events(), DEFAULT_LABEL_DELAY)
    assert when.iloc[0] == T0 + pd.Timedelta(hours=3)  # the analyst before the chargeback
    assert when.iloc[1] == T0 + pd.Timedelta(days=12)
    assert pd.isna(when.iloc[2])  # only a "not fraud" verdict: its fraud is never known
    assert pd.isna(when.iloc[3])  # legitimate in the data: no fraud to know
    assert pd.isna(when.iloc[4])  # no verdict at all (a fraud nobody disputed)


def test_without_label_times_each_fraud_is_known_a_delay_after_it() -> None:
    when = first_known(_frame(), None, DEFAULT_LABEL_DELAY)
    assert when.iloc[2] == T0 + pd.Timedelta(days=8) and pd.isna(when.iloc[3])
    assert first_known(_frame(), None, timedelta(0)).iloc[0] == T0


def test_known_by_counts_the_unknown_frauds_per_window() -> None:
    frame = _frame()
    windows = {"train": np.array([True, True, True, True, False]), "val": np.array([False] * 4 + [True])}
    result = known_by(frame, windows, T0 + pd.Timedelta(days=10), _events(), DEFAULT_LABEL_DELAY)
    assert result.known.tolist() == [True, False, False, False, False]
    assert result.frauds == {"train": 3, "val": 1}
    assert result.unknown == {"train": 2, "val": 1}
    delayed = known_by(frame, windows, T0 + pd.Timedelta(days=7, hours=1), None, DEFAULT_LABEL_DELAY)
    assert delayed.known.tolist() == [True, True, False, False, True]
    assert delayed.describe()["unknown_at_cutoff"] == {"train": 1, "val": 0}
    assert "7 days" in delayed.basis
