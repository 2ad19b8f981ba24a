"""Label events: known after the transaction, chargebacks days to weeks later, some never."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa

from fraudstack.labels import validate_label
from fraudstack.simulator import iter_labelled_tables, iter_tables
from fraudstack.simulator.label_delay import LABEL_DELAY
from tests.simulator.conftest import PATTERN_CONFIG


def test_every_label_is_known_after_its_transaction(pattern_labels: pd.DataFrame) -> None:
    assert pattern_labels["event_time"].notna().all(), "a label for a transaction that does not exist"
    assert (pattern_labels["known_at"] > pattern_labels["event_time"]).all()
    assert pattern_labels["is_fraud_x"].all() and pattern_labels["is_fraud_y"].all()
    assert not pattern_labels.duplicated(["transaction_id", "source"]).any()


def test_some_frauds_are_never_labelled_tiny_ones_most(
    events: pd.DataFrame, pattern_labels: pd.DataFrame
) -> None:
    frauds = events[events["is_fraud"]]
    labelled = frauds["transaction_id"].isin(pattern_labels["transaction_id"])
    charged = frauds["transaction_id"].isin(
        pattern_labels.loc[pattern_labels["source"] == "chargeback", "transaction_id"]
    )
    assert 0.03 < (~labelled).mean() < 0.4
    tiny = frauds["amount"] < LABEL_DELAY.small_usd
    assert (~charged[tiny]).mean() > 2 * (~charged[~tiny]).mean()


def test_chargebacks_take_days_to_weeks_with_a_long_tail(pattern_labels: pd.DataFrame) -> None:
    cb = pattern_labels[pattern_labels["source"] == "chargeback"]
    days = (cb["known_at"] - cb["event_time"]).dt.total_seconds() / 86_400
    assert days.min() >= LABEL_DELAY.chargeback_min_days
    assert 7 < days.median() < 20
    assert days.quantile(0.95) > 30


def test_analysts_confirm_a_share_within_hours(events: pd.DataFrame, pattern_labels: pd.DataFrame) -> None:
    an = pattern_labels[pattern_labels["source"] == "analyst"]
    hours = (an["known_at"] - an["event_time"]).dt.total_seconds() / 3_600
    assert hours.median() < 12 and hours.min() > 0
    share = len(an) / int(events["is_fraud"].sum())
    assert abs(share - LABEL_DELAY.analyst_share) < 0.08


def test_label_rows_are_valid_label_events(pattern_labels: pd.DataFrame) -> None:
    for row in pattern_labels[["transaction_id", "is_fraud_x", "source", "known_at"]].head(50).itertuples():
        label = {"transaction_id": row[1], "is_fraud": row[2], "source": row[3], "known_at": row[4]}
        assert validate_label(label).ok


def test_reading_labels_leaves_the_transactions_unchanged() -> None:
    config = PATTERN_CONFIG.model_copy(update={"days": 3, "customers": 300})
    plain = pa.concat_tables(iter_tables(config))
    labelled = pa.concat_tables([t for t, _ in iter_labelled_tables(config)])
    assert plain.equals(labelled)
