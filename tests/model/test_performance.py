"""Delayed-label performance per model version and day, stored in the warehouse as labels arrive."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from sklearn.metrics import average_precision_score

from fraudstack.model.metrics import at_budget
from fraudstack.model.performance import MATURITY, TABLE, refresh
from fraudstack.settings import Settings
from fraudstack.simulator import SimulationConfig, iter_tables
from fraudstack.warehouse import connect
from tests.support.stack import RunningStack
from tests.support.star import load_events
from tests.support.warehouse import scratch_database


@pytest.fixture(scope="module")
def loaded(stack: RunningStack) -> Iterator[tuple[Settings, pd.DataFrame]]:
    """20 days of facts, one version's predictions of every one (a noisy score of the truth)."""
    with scratch_database(stack.settings) as scratch:
        frame = pa.concat_tables(list(iter_tables(SimulationConfig.create(customers=80, days=20, seed=5))))
        events = frame.to_pandas().sort_values("event_time").reset_index(drop=True)
        rng = np.random.default_rng(1)
        events["score"] = np.clip(events["is_fraud"] * 0.5 + rng.uniform(0, 0.6, len(events)), 0, 1)
        events["decision"] = np.where(events["score"] >= 0.7, "review", "approve")
        with connect(scratch) as wh:
            load_events(wh, events)
            wh.upsert(
                "fraud_predictions",
                list(
                    zip(
                        events["transaction_id"],
                        ["v1"] * len(events),
                        events["score"],
                        events["decision"],
                        events["event_time"],
                        strict=True,
                    )
                ),
                columns=("transaction_id", "model_version", "score", "decision", "scored_at"),
            )
        yield scratch, events


def _label(settings: Settings, rows: pd.DataFrame, after: timedelta) -> None:
    with connect(settings) as wh:
        wh.upsert(
            "fact_labels",
            [
                (t, "chargeback", True, w + after)
                for t, w in zip(rows["transaction_id"], rows["event_time"], strict=True)
            ],
            columns=("transaction_id", "source", "is_fraud", "known_at"),
            update=True,
        )


def _stored(settings: Settings) -> pd.DataFrame:
    with connect(settings) as wh:
        rows = wh.query(
            f"SELECT window_start, scored, frauds, flagged, confirmed, flag_precision, recall_at_budget, "
            f"average_precision, mature FROM {TABLE} WHERE model_version = 'v1' ORDER BY window_start"
        )
    names = ["day", "scored", "frauds", "flagged", "confirmed", "precision", "recall", "ap", "mature"]
    return pd.DataFrame(rows, columns=names)


def test_each_day_is_measured_with_the_labels_known_in_time_and_updated_as_they_arrive(
    loaded: tuple[Settings, pd.DataFrame],
) -> None:
    settings, events = loaded
    frauds = events[events["is_fraud"]]
    early, late = frauds.iloc[::2], frauds.iloc[1::2]
    _label(settings, early, timedelta(days=1))  # known in time
    _label(settings, late, MATURITY + timedelta(days=3))  # known too late to count, ever
    now = events["event_time"].max()
    refresh(settings, now)

    stored = _stored(settings)
    days = events["event_time"].dt.floor("D")
    assert list(stored["day"]) == sorted(days.unique())
    assert list(stored["mature"]) == [d + timedelta(days=1) + MATURITY <= now for d in stored["day"]]
    # Labels are counted only when known by "now" and within the maturity of their transaction.
    for day in stored["day"]:
        rows = events[days == day]
        known = rows["transaction_id"].isin(early["transaction_id"]) & (
            rows["event_time"] + timedelta(days=1) <= now
        )
        labels, scores = known.to_numpy(), rows["score"].to_numpy()
        flags = (rows["decision"] == "review").to_numpy()
        got = stored[stored["day"] == day].iloc[0]
        assert (got["scored"], got["frauds"], got["flagged"]) == (len(rows), labels.sum(), flags.sum())
        assert got["confirmed"] == (labels & flags).sum()
        if labels.any():
            assert got["ap"] == pytest.approx(average_precision_score(labels, scores), abs=1e-6)
            expected = at_budget(labels, scores, rows["amount"].to_numpy(float), 0.005)["recall"]
            assert got["recall"] == pytest.approx(expected, abs=1e-6)
        else:
            assert pd.isna(got["ap"]) and pd.isna(got["recall"])  # NULL: undefined without a fraud

    # A later run, with the last day's frauds confirmed since: its row is updated, not doubled.
    last_day = stored["day"].max()
    newest = early[early["event_time"].dt.floor("D") == last_day]
    later = now + timedelta(days=2)
    refresh(settings, later)
    updated = _stored(settings)
    assert len(updated) == len(stored)
    row = updated[updated["day"] == last_day].iloc[0]
    assert row["frauds"] == len(newest)
    assert bool(row["mature"]) is False
