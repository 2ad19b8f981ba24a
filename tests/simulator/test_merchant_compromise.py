"""The sixth archetype: cards used at a breached merchant are defrauded later, and its twin.

Measured on the data only, the way an investigator finds a common point of purchase.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from fraudstack.simulator.fraud import PARAMS

MC = "merchant_compromise"


def _first_fraud(events: pd.DataFrame) -> pd.Series:
    return events[events["fraud_type"] == MC].groupby("card_id")["event_time"].min()


def _visits_before_fraud(events: pd.DataFrame) -> pd.DataFrame:
    """Genuine purchases of merchant-compromise victims made before their card's first fraud."""
    first = _first_fraud(events)
    legit = events[~events["is_fraud"] & events["card_id"].isin(first.index)]
    return legit[legit["event_time"] < legit["card_id"].map(first)]


def test_every_defrauded_card_shares_a_merchant_visit_with_other_victims(events: pd.DataFrame) -> None:
    first = _first_fraud(events)
    assert len(first) >= 30, "too few merchant-compromise victims to measure"
    visits = _visits_before_fraud(events)
    cards_per_merchant = visits.groupby("merchant_id")["card_id"].nunique()
    common = cards_per_merchant[cards_per_merchant >= 3].index
    # Each victim visited a merchant that at least two other victims visited before their frauds.
    has_common = visits[visits["merchant_id"].isin(common)].groupby("card_id").size()
    assert has_common.reindex(first.index).notna().mean() > 0.95


def test_victims_share_the_visit_within_one_compromise_window(events: pd.DataFrame) -> None:
    """Each victim met at least two other victims at one merchant within a window's length."""
    first = _first_fraud(events)
    visits = _visits_before_fraud(events)[["card_id", "merchant_id", "event_time"]]
    pairs = visits.merge(visits, on="merchant_id", suffixes=("", "_other"))
    window = pd.Timedelta(days=PARAMS.mc_window_days[1])
    close = pairs[
        (pairs["card_id"] != pairs["card_id_other"])
        & ((pairs["event_time"] - pairs["event_time_other"]).abs() <= window)
    ]
    met = close.groupby(["card_id", "merchant_id"])["card_id_other"].nunique().groupby("card_id").max()
    assert (met.reindex(first.index).fillna(0) >= 2).mean() > 0.95


def test_frauds_come_after_the_window_at_the_merchant_and_elsewhere(events: pd.DataFrame) -> None:
    mc = events[events["fraud_type"] == MC]
    visits = _visits_before_fraud(events)
    visited = set(zip(visits["card_id"], visits["merchant_id"], strict=True))
    at_visited = np.array([pair in visited for pair in zip(mc["card_id"], mc["merchant_id"], strict=True)])
    assert 0.1 < at_visited.mean() < 0.6, "frauds both back at the breached merchant and elsewhere"
    assert (mc["channel"] == "ecom").any() and (mc["channel"] == "pos").any()


def test_each_fraud_looks_like_the_cards_own_spending(events: pd.DataFrame) -> None:
    mc = events[events["fraud_type"] == MC]
    typical = events[~events["is_fraud"]].groupby("card_id")["amount"].median()
    ratio = mc["amount"].to_numpy() / typical.reindex(mc["card_id"]).to_numpy()
    assert np.nanmedian(ratio) < 4  # account takeover: > 10
    assert (mc["entry_mode"] != "magstripe").mean() > 0.9  # no cloned-stripe giveaway
    legit_hours = events[~events["is_fraud"]]["event_time"].dt.hour
    night = legit_hours.between(1, 5).mean()
    assert mc["event_time"].dt.hour.between(1, 5).mean() < 3 * night + 0.02


def test_merchant_compromise_has_its_share_of_frauds(events: pd.DataFrame) -> None:
    frauds = events[events["is_fraud"]]
    share = (frauds["fraud_type"] == MC).mean()
    expected = PARAMS.share[5] / sum(PARAMS.share)
    assert expected / 2 < share < expected * 2


def test_popular_merchants_draw_bursts_of_new_cards_nobody_defrauds(events: pd.DataFrame) -> None:
    legit = events[~events["is_fraud"] & events["card_present"]]
    first = legit.groupby(["merchant_id", "card_id"])["event_time"].min().rename("first").reset_index()
    first["day"] = first["first"].dt.floor("D")
    new_cards = first.groupby(["merchant_id", "day"])["card_id"].nunique()
    bursts = new_cards[new_cards >= 10].index.get_level_values("merchant_id").unique()
    breached = set(_visits_before_fraud(events)["merchant_id"])
    assert len(set(bursts) - breached) >= 3, "no legitimate bursts of new cards at popular merchants"
