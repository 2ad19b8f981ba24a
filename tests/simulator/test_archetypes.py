"""Each fraud archetype shows its defining pattern, and each has a legitimate look-alike.

Measured on the data only (no simulator internals), the way an analyst or a feature would.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from fraudstack.simulator.core import haversine_km
from fraudstack.simulator.fraud import PARAMS, PLAUSIBLE_SPEED_KMH


def _of(events: pd.DataFrame, fraud_type: str) -> pd.DataFrame:
    rows = events[events["fraud_type"] == fraud_type]
    assert len(rows) > 0, f"no {fraud_type} rows"
    return rows


def _speed_kmh(a: pd.DataFrame, b: pd.DataFrame) -> np.ndarray:
    km = haversine_km(a["lat"].to_numpy(), a["lon"].to_numpy(), b["lat"].to_numpy(), b["lon"].to_numpy())
    hours = (b["event_time"].to_numpy() - a["event_time"].to_numpy()) / np.timedelta64(1, "h")
    return km / np.maximum(hours, 1e-6)


def test_card_testing_is_a_burst_of_tiny_amounts_seconds_apart(events: pd.DataFrame) -> None:
    ct = _of(events, "card_testing")
    tests = ct[ct["amount"] <= PARAMS.ct_cents[1] / 100]
    gaps = tests.groupby("card_id")["event_time"].diff().dropna().dt.total_seconds()
    assert (gaps <= PARAMS.ct_gap_us[1] / 1e6).mean() > 0.95
    assert tests.groupby("card_id").size().min() >= PARAMS.ct_size[0]
    follow_ups = ct[ct["amount"] >= PARAMS.ct_follow_up_usd[0]]
    assert len(follow_ups) > 0 and (follow_ups["channel"] == "ecom").all()


def test_legit_micro_payments_look_like_card_testing(events: pd.DataFrame) -> None:
    legit = events[~events["is_fraud"] & (events["amount"] < 5)]
    gaps = legit.groupby("card_id")["event_time"].diff().dt.total_seconds()
    assert ((gaps < 240) & (legit["channel"] == "ecom")).sum() > 20
    assert (legit["merchant_category"].isin(["transit", "parking"])).sum() > 100


def test_velocity_attack_is_high_value_at_different_merchants_within_minutes(events: pd.DataFrame) -> None:
    vel = _of(events, "velocity_attack")
    assert (vel["amount"] >= PARAMS.vel_usd[0]).all()
    per_card = vel.groupby("card_id").agg(
        n=("amount", "size"),
        merchants=("merchant_id", "nunique"),
        span=("event_time", lambda t: t.max() - t.min()),
    )
    assert (per_card["n"] >= PARAMS.vel_size[0]).all()
    assert (per_card["merchants"] >= 3).all()
    assert (per_card["span"] <= pd.Timedelta(minutes=35)).mean() > 0.95


def test_legit_shopping_sprees_look_like_velocity(events: pd.DataFrame) -> None:
    legit = events[~events["is_fraud"] & events["card_present"]]
    prev_merchant = legit.groupby("card_id")["merchant_id"].shift()
    gap = legit.groupby("card_id")["event_time"].diff()
    spree = (
        (gap < pd.Timedelta(minutes=30)) & (prev_merchant != legit["merchant_id"]) & (legit["amount"] > 150)
    )
    assert spree.sum() > 10


def test_account_takeover_is_one_large_purchase_from_a_new_device(events: pd.DataFrame) -> None:
    ato = _of(events, "account_takeover")
    assert (ato["channel"] == "ecom").all() and (ato["amount"] >= PARAMS.ato_min_usd).all()
    legit = events[~events["is_fraud"]]
    legit_pairs = set(zip(legit["customer_id"], legit["device_id"], strict=True))
    assert not any(pair in legit_pairs for pair in zip(ato["customer_id"], ato["device_id"], strict=True))
    typical = events[~events["is_fraud"]].groupby("customer_id")["amount"].median()
    ratio = ato["amount"].to_numpy() / typical.reindex(ato["customer_id"]).to_numpy()
    assert np.nanmedian(ratio) > 10


def test_legit_new_devices_vpns_and_big_purchases_exist(events: pd.DataFrame) -> None:
    legit = events[~events["is_fraud"]]
    ecom = legit[legit["channel"] == "ecom"]
    first_use = ecom.groupby(["customer_id", "device_id"])["event_time"].transform("min")
    first_ecom = ecom.groupby("customer_id")["event_time"].transform("min")
    assert ((first_use == ecom["event_time"]) & (first_use > first_ecom + pd.Timedelta(days=3))).sum() > 50
    assert legit["ip_is_vpn"].eq(True).sum() > 100
    assert (legit["amount"] >= 1_000).sum() > 20


def _with_previous(rows: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Each row next to the previous row of the same card (``rows`` is sorted by card, time)."""
    prev = rows.shift()
    same = (prev["card_id"] == rows["card_id"]).to_numpy()
    return prev[same], rows[same]


def test_impossible_travel_exceeds_plausible_speed(events: pd.DataFrame) -> None:
    prev, cur = _with_previous(events[events["card_present"]])
    first = (
        (cur["fraud_type"] == "impossible_travel") & (prev["fraud_type"] != "impossible_travel")
    ).to_numpy()
    assert first.sum() > 0
    speeds = _speed_kmh(prev[first], cur[first])
    assert (speeds > PLAUSIBLE_SPEED_KMH).mean() > 0.95


def test_legit_travellers_move_far_but_at_plausible_speed(events: pd.DataFrame) -> None:
    prev, cur = _with_previous(events[events["card_present"] & ~events["is_fraud"]])
    km = haversine_km(
        prev["lat"].to_numpy(), prev["lon"].to_numpy(), cur["lat"].to_numpy(), cur["lon"].to_numpy()
    )
    far = km > 500
    assert far.sum() > 20, "no legitimate long-distance travel"
    assert (_speed_kmh(prev[far], cur[far]) < PLAUSIBLE_SPEED_KMH).all()


def test_synthetic_identity_is_a_new_account_that_warms_up_then_cashes_out(events: pd.DataFrame) -> None:
    syn = _of(events, "synthetic_identity")
    everything = events[events["customer_id"].isin(syn["customer_id"])]
    assert (everything["fraud_type"] == "synthetic_identity").all()
    per = syn.groupby("customer_id")
    cash_out = syn.loc[per["amount"].idxmax()]
    age = (cash_out["event_time"] - pd.to_datetime(cash_out["customer_account_created"])).dt.days
    assert (age <= PARAMS.syn_warmup_days[1] + PARAMS.syn_opened_before_days[1] + 1).all()
    assert (per.size() >= PARAMS.syn_warmup[0] + 1).all()
    assert (per["amount"].max() > 10 * per["amount"].median()).mean() > 0.9


def test_legit_new_accounts_exist(events: pd.DataFrame) -> None:
    legit = events[~events["is_fraud"]]
    age = (legit["event_time"] - pd.to_datetime(legit["customer_account_created"])).dt.days
    assert legit.loc[age < 30, "customer_id"].nunique() > 10
