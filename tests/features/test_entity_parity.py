"""Entity profiles (merchant, device, IP, customer): batch = online, labels interleaved and late.

The online form receives label events as a stream does: mixed in with the transactions, in
any order, twice from two sources, before the transaction they are about, or after it. A label
counts for the transactions after its ``known_at``, so the forms agree whenever each label
arrives before the first transaction later than its ``known_at`` - the test delivers every
label at a random point up to there. What happens when it arrives later still (the
aggregator's lag) is the last test.
"""

from __future__ import annotations

from bisect import bisect_right
from datetime import timedelta
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fraudstack.features import EntityProfiles, compute_features, definitions, label_events
from fraudstack.features.online import to_micros
from fraudstack.simulator import SimulationConfig, iter_events, iter_tables
from tests.features.events import START, as_frame, hand_made_events
from tests.support.parity import RTOL, assert_same, online_frame

ENTITY_NAMES = [f.name for group in definitions.ENTITY_FEATURES.values() for f in group]


def random_labels(
    events: list[dict[str, Any]], rng: np.random.Generator, share: float = 0.15
) -> pd.DataFrame:
    """Fraud verdicts on ``share`` of the events, known 0 s to 40 days later; some twice, some genuine."""
    picked = [e for e in events if rng.random() < share]
    delays = rng.choice([0, 1, 60, 3600, 86_400, 5 * 86_400, 40 * 86_400], size=len(picked))
    rows = [
        {
            "transaction_id": e["transaction_id"],
            "is_fraud": bool(rng.random() < 0.8),
            "source": "chargeback",
            "known_at": pd.Timestamp(e["event_time"]) + timedelta(seconds=int(d)),
        }
        for e, d in zip(picked, delays, strict=True)
    ]
    again = [{**r, "source": "analyst", "known_at": r["known_at"] - timedelta(seconds=30)} for r in rows[::4]]
    return pd.DataFrame(rows + again, columns=["transaction_id", "is_fraud", "source", "known_at"])


def deliveries(
    events: list[dict[str, Any]], labels: pd.DataFrame, rng: np.random.Generator
) -> dict[int, list[dict]]:
    """Each label delivered before a random event no later than the first one after its ``known_at``."""
    times = [to_micros(e["event_time"]) for e in events]
    out: dict[int, list[dict]] = {}
    for label in labels.sample(frac=1.0, random_state=int(rng.integers(1 << 30))).to_dict("records"):
        deadline = bisect_right(times, to_micros(label["known_at"]))
        out.setdefault(int(rng.integers(deadline + 1)), []).append(label)
    return out


def test_batch_equals_online_with_labels_interleaved_and_late() -> None:
    rng = np.random.default_rng(11)
    events = hand_made_events(3000, cards=40)
    labels = random_labels(events, rng)
    batch = compute_features(as_frame(events), labels).reset_index(drop=True)
    assert batch["merchant_frauds_30d"].max() >= 3 and batch["merchant_new_cards_24h"].max() >= 2
    assert_same(batch, online_frame(events, deliveries(events, labels, rng)))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    gaps=st.lists(st.sampled_from([0, 0, 1, 59, 3600, 86_400, 8 * 86_400]), min_size=1, max_size=60),
    picks=st.lists(
        st.tuples(st.integers(0, 2), st.integers(0, 3), st.integers(0, 2)), min_size=60, max_size=60
    ),
    seed=st.integers(0, 2**16),
)
def test_batch_equals_online_on_random_streams(
    gaps: list[int], picks: list[tuple[int, int, int]], seed: int
) -> None:
    """Few cards, merchants and devices, many exact ties, labels at random delays (0 included)."""
    rng = np.random.default_rng(seed)
    events = []
    seconds = 0
    for i, gap in enumerate(gaps):
        seconds += gap
        card, merchant, device = picks[i]
        events.append(
            {
                "transaction_id": f"t{i}",
                "event_time": START + timedelta(seconds=seconds),
                "card_id": f"c{card}",
                "customer_id": f"u{card % 2}",
                "merchant_id": f"m{merchant}",
                "device_id": None if device == 2 else f"d{device}",
                "ip_address": f"ip{(card + device) % 3}",
                "amount": round(float(rng.lognormal(3, 1)), 2),
            }
        )
    labels = random_labels(events, rng, share=0.4)
    batch = compute_features(as_frame(events), labels).reset_index(drop=True)
    online = online_frame(events, deliveries(events, labels, rng))
    for name in ENTITY_NAMES:
        np.testing.assert_allclose(
            batch[name].to_numpy(), online[name].to_numpy(), rtol=RTOL, equal_nan=True, err_msg=name
        )


def test_a_fraud_counts_only_once_known_and_only_for_later_transactions() -> None:
    events = hand_made_events(6, cards=1)
    for i, e in enumerate(events):
        e.update(merchant_id="m", event_time=START + timedelta(hours=i))
    known = pd.Timestamp(START + timedelta(hours=3))  # tx0's fraud becomes known at tx3's time
    labels = pd.DataFrame([{"transaction_id": "tx000000", "is_fraud": True, "known_at": known}])
    frauds = compute_features(as_frame(events), labels)["merchant_frauds_1d"].tolist()
    assert frauds == [0, 0, 0, 0, 1, 1]  # known strictly before: not at tx3's own time
    rates = compute_features(as_frame(events), labels)["merchant_fraud_rate_1d"].tolist()
    assert np.isnan(rates[0]) and rates[4:] == [1 / 4, 1 / 5]


def test_a_label_arriving_after_its_known_at_counts_from_its_arrival() -> None:
    """The streaming lag: a late label is missed by the transactions before it arrives, never after."""
    events = hand_made_events(2000, cards=30)
    labels = random_labels(events, np.random.default_rng(4))
    batch = compute_features(as_frame(events), labels).reset_index(drop=True)
    late = online_frame(events, {len(events) // 2: labels.to_dict("records")})
    half = len(events) // 2
    frauds = [n for n in ENTITY_NAMES if "_frauds_" in n]
    assert (late.loc[: half - 1, frauds].fillna(0).to_numpy() == 0).all()
    assert (late[frauds].fillna(0).to_numpy() <= batch[frauds].fillna(0).to_numpy()).all()
    np.testing.assert_allclose(late.loc[half + 200 :, frauds], batch.loc[half + 200 :, frauds], rtol=RTOL)


def test_entity_cap_applies_in_both_forms(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("fraudstack.features.batch.ENTITY_HISTORY_CAP", 7)
    monkeypatch.setattr("fraudstack.features.online.ENTITY_HISTORY_CAP", 7)
    rng = np.random.default_rng(2)
    events = hand_made_events(1500, cards=20)
    labels = random_labels(events, rng)
    batch = compute_features(as_frame(events), labels).reset_index(drop=True)
    assert batch["merchant_n_24h"].max() >= 7 and batch["customer_n_24h"].max() >= 7
    assert_same(batch, online_frame(events, deliveries(events, labels, rng)))


def test_nothing_older_than_the_lookback_matters_with_labels() -> None:
    """The inference job reads LOOKBACK of entity history and the labels of those transactions."""
    events = hand_made_events(3000)
    frame = as_frame(events)
    labels = random_labels(events, np.random.default_rng(5))
    times = pd.to_datetime(frame["event_time"], utc=True)
    score_from = times.min() + pd.Timedelta(days=36)
    keep = times >= score_from - pd.Timedelta(microseconds=definitions.LOOKBACK)
    history = frame[keep]
    targets = frame.index[times >= score_from]
    assert len(targets) > 100 and len(history) < len(frame)
    kept_labels = labels[labels["transaction_id"].isin(history["transaction_id"])]
    pd.testing.assert_frame_equal(
        compute_features(history, kept_labels).loc[targets], compute_features(frame, labels).loc[targets]
    )


def test_profiles_of_simulated_stream_with_default_label_delay() -> None:
    """The scorer's wire-form events against the Parquet form, labels known the default delay later."""
    config = SimulationConfig.create(customers=300, days=12, fraud_rate=0.03, seed=5)
    events = list(iter_events(config))
    frame = pa_frame(config)
    labels = label_events(frame)
    batch = compute_features(frame, labels).set_axis(frame["transaction_id"])
    batch = batch.loc[[e["transaction_id"] for e in events]].reset_index(drop=True)
    # Known 7 days on, a fraud has left the 1- and 7-day windows by then: the 30 days see it.
    assert batch["merchant_frauds_30d"].max() >= 1 and batch["merchant_frauds_7d"].max() == 0
    wire_labels = label_events(
        pd.DataFrame(events).assign(
            is_fraud=frame.set_index("transaction_id")
            .loc[[e["transaction_id"] for e in events], "is_fraud"]
            .to_numpy()
        )
    )
    online = online_frame(events, deliveries(events, wire_labels, np.random.default_rng(0)))
    assert_same(batch, online)


def pa_frame(config: SimulationConfig) -> pd.DataFrame:
    import pyarrow as pa

    return pa.concat_tables(list(iter_tables(config))).to_pandas()


def test_profiles_need_their_entity_and_labels() -> None:
    frame = as_frame(hand_made_events(200)).drop(columns=["device_id"])
    without = set(compute_features(frame).columns)
    assert "merchant_n_1h" in without and "merchant_frauds_1d" not in without
    assert not any(name.startswith("device_") for name in without)
    labels = pd.DataFrame(columns=["transaction_id", "is_fraud", "known_at"])
    with_labels = compute_features(frame, labels)
    assert (with_labels["ip_frauds_30d"].dropna() == 0).all()
    assert not any(name.startswith("device_") for name in with_labels.columns)


def test_an_entity_profile_is_bounded_by_the_lookback() -> None:
    """Pruned lazily (when the state doubled), so at most about twice what LOOKBACK holds is kept."""
    events = hand_made_events(6000, cards=6)
    profiles = EntityProfiles()
    for e in events:
        profiles.update(e)
        profiles.label({"transaction_id": e["transaction_id"], "is_fraud": True, "known_at": e["event_time"]})
    """Pruned lazily (when the state doubled), so at most about twice what LOOKBACK holds is kept."""
    newest = to_micros(events[-1]["event_time"])
    recent = sum(1 for e in events if to_micros(e["event_time"]) >= newest - definitions.LOOKBACK)
    assert recent < len(events) // 2
    assert len(profiles.transactions) <= max(1024, 2 * recent) and len(profiles.known) <= max(
        1024, 2 * recent
    )
    for states in profiles.states.values():
        for state in states.values():
            assert len(state.times) <= max(64, 2 * recent) and len(state.frauds) <= len(state.times)
