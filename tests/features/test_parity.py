"""The batch and online forms agree, and neither looks into the future.

The online form of a transaction's features is the card state's row (:class:`OnlineFeatures`,
what a scorer partition computes) followed by the entity profiles' (:class:`EntityProfiles`,
what the profile aggregator computes); the entity features have their own tests in
``test_entity_parity.py``.
"""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pytest

from fraudstack.features import (
    CARD_FEATURE_NAMES,
    OnlineFeatures,
    compute_features,
    definitions,
)
from fraudstack.simulator import SimulationConfig, iter_events, iter_tables
from tests.features.events import as_frame, hand_made_events
from tests.support.parity import assert_same, online_frame


def card_frame(online: OnlineFeatures, events: list[dict]) -> pd.DataFrame:
    return pd.DataFrame([online.update(e) for e in events], columns=list(CARD_FEATURE_NAMES))


def test_batch_equals_online_on_hand_made_stream() -> None:
    events = hand_made_events()
    batch = compute_features(as_frame(events)).reset_index(drop=True)
    assert_same(batch, online_frame(events))


def test_batch_does_not_depend_on_row_order() -> None:
    frame = as_frame(hand_made_events(800))
    shuffled = frame.sample(frac=1.0, random_state=3)
    pd.testing.assert_frame_equal(compute_features(shuffled).loc[frame.index], compute_features(frame))


def test_ties_do_not_see_each_other() -> None:
    events = hand_made_events(4)
    for e in events:
        e.update(card_id="same", event_time=events[0]["event_time"], device_id="d1")
    features = compute_features(as_frame(events))
    assert features["seconds_since_prev"].isna().all() and (features["n_7d"] == 0).all()
    assert (features["new_device"] == 1).all()
    assert_same(features.reset_index(drop=True), online_frame(events))


def test_appending_future_events_changes_no_earlier_feature() -> None:
    events = hand_made_events(1500)
    cut = 900
    past = compute_features(as_frame(events[:cut]))
    full = compute_features(as_frame(events)).iloc[:cut]
    pd.testing.assert_frame_equal(past, full)


def test_nothing_older_than_the_lookback_matters() -> None:
    """The inference job reads only LOOKBACK of history; that must give the same features."""
    frame = as_frame(hand_made_events(3000))
    times = pd.to_datetime(frame["event_time"], utc=True)
    score_from = times.min() + pd.Timedelta(days=36)
    history = frame[times >= score_from - pd.Timedelta(microseconds=definitions.LOOKBACK)]
    targets = frame.index[times >= score_from]
    assert len(targets) > 100 and len(history) < len(frame)
    pd.testing.assert_frame_equal(
        compute_features(history).loc[targets], compute_features(frame).loc[targets]
    )


def test_labels_are_never_read() -> None:
    frame = as_frame(hand_made_events(500))
    flipped = frame.assign(is_fraud=~frame["is_fraud"], fraud_type="card_testing")
    pd.testing.assert_frame_equal(compute_features(frame), compute_features(flipped))
    assert not {"is_fraud", "fraud_type"} & set(definitions.INPUT_COLUMNS)


def test_history_cap_applies_in_both_forms(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("fraudstack.features.batch.HISTORY_CAP", 5)
    monkeypatch.setattr("fraudstack.features.online.HISTORY_CAP", 5)
    events = hand_made_events(600, cards=2)
    batch = compute_features(as_frame(events)).reset_index(drop=True)
    assert batch["n_7d"].max() == 5
    assert_same(batch, online_frame(events))


def test_snapshot_restore_continues_identically() -> None:
    events = hand_made_events(1200)
    reference = online_frame(events)
    first = OnlineFeatures()
    for e in events[:700]:
        first.update(e)
    restored = OnlineFeatures.restore(first.snapshot())
    rest = card_frame(restored, events[700:])
    pd.testing.assert_frame_equal(rest, reference[list(CARD_FEATURE_NAMES)].iloc[700:].reset_index(drop=True))


def test_a_capture_taken_while_updating_holds_the_state_when_it_began() -> None:
    events = hand_made_events(1200, cards=60)
    online = OnlineFeatures()
    for e in events[:700]:
        online.update(e)
    expected = OnlineFeatures.restore(online.snapshot())
    capture = online.capture()
    for e in events[700:]:
        capture.step(0.0)  # one slice of cards between updates; updated cards go first
        online.update(e)
    capture.step()
    restored = OnlineFeatures.restore(capture.blob())
    assert {k: c.to_dict() for k, c in restored.cards.items()} == {
        k: c.to_dict() for k, c in expected.cards.items()
    }


def test_missing_columns_drop_only_the_features_that_need_them() -> None:
    absent = ["device_id", "lat", "lon", "customer_account_created"]
    frame = as_frame(hand_made_events(200)).drop(columns=absent)
    names = set(compute_features(frame).columns)
    assert {"new_device", "dist_prev_km", "speed_prev_kmh", "account_age_days"}.isdisjoint(names)
    assert {"n_1h", "new_ip", "amount_to_mean_7d", "hour"} <= names


def test_batch_equals_online_on_simulated_stream() -> None:
    """The scorer's input (wire-form dicts: ISO strings, float amounts) against the Parquet form."""
    config = SimulationConfig.create(customers=300, days=9, fraud_rate=0.02, seed=5)
    events = list(iter_events(config))
    frame = pa.concat_tables(list(iter_tables(config))).to_pandas()
    batch = (
        compute_features(frame).set_axis(frame["transaction_id"]).loc[[e["transaction_id"] for e in events]]
    )
    assert_same(batch.reset_index(drop=True), online_frame(events))


@pytest.mark.parametrize(
    ("field", "bad"),
    [("customer_account_created", "not a date"), ("merchant_category_code", "54x1"), ("device_id", ["a"])],
)
def test_an_event_that_raises_leaves_the_state_as_it_was(field: str, bad: object) -> None:
    """The scorer dead-letters an event whose update raises; the state must not hold half of it."""
    events = hand_made_events(300, cards=5)
    online = OnlineFeatures()
    for e in events[:200]:
        online.update(e)
    before = {k: c.to_dict() for k, c in OnlineFeatures.restore(online.snapshot()).cards.items()}
    new_card = {**events[200], "card_id": "never-seen"}
    for poisoned in ({**events[200], field: bad}, {**new_card, field: bad}):
        with pytest.raises((ValueError, TypeError)):
            online.update(poisoned)
    assert {k: c.to_dict() for k, c in online.cards.items()} == before
    rest = card_frame(online, events[200:])
    expected = online_frame(events)[list(CARD_FEATURE_NAMES)].iloc[200:].reset_index(drop=True)
    pd.testing.assert_frame_equal(rest, expected)
