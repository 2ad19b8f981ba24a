"""The sixth archetype: cards used at a breached merchant are defrauded later, and its twin.

Measured on the data only, the way an investigator finds a common point of purchase.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from fraudstack.simulator.catalog import CITIES
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


def _at_visited_merchant(events: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    """The merchant-compromise frauds, and which are at a merchant the card visited before."""
    mc = events[events["fraud_type"] == MC]
    visits = _visits_before_fraud(events)
    visited = set(zip(visits["card_id"], visits["merchant_id"], strict=True))
    pairs = zip(mc["card_id"], mc["merchant_id"], strict=True)
    return mc, np.array([pair in visited for pair in pairs], dtype=bool)


def _in_store_elsewhere(events: pd.DataFrame) -> pd.DataFrame:
    """Card-present frauds away from the breached merchant: the ring's counterfeit cash-outs."""
    mc, at_visited = _at_visited_merchant(events)
    return mc[mc["card_present"].to_numpy() & ~at_visited]


def test_frauds_come_after_the_window_at_the_merchant_and_elsewhere(events: pd.DataFrame) -> None:
    mc, at_visited = _at_visited_merchant(events)
    assert 0.1 < at_visited.mean() < 0.6, "frauds both back at the breached merchant and elsewhere"
    assert (mc["channel"] == "ecom").any() and (mc["channel"] == "pos").any()


def test_in_store_frauds_are_counterfeit_cash_outs_not_the_cards_own_spending(events: pd.DataFrame) -> None:
    """A breach yields card data, not the owner's habits: the ring buys what resells, at its price."""
    mc = events[events["fraud_type"] == MC]
    assert (mc[mc["card_present"]]["entry_mode"] == "magstripe").all()  # cards cloned from track data
    store = _in_store_elsewhere(events)
    assert len(store) >= 20, "too few in-store frauds to measure"
    assert set(store["merchant_category"]) <= {"electronics", "jewelry", "department_store", "atm_cash"}
    # Amounts follow the ring, not the card: they barely rank with the card's usual amount,
    # while a legitimate purchase in the same categories does.
    typical = events[~events["is_fraud"]].groupby("card_id")["amount"].median()

    def rank_correlation(rows: pd.DataFrame) -> float:
        usual = pd.Series(typical.reindex(rows["card_id"]).to_numpy(), index=rows.index)
        return float(rows["amount"].corr(usual, method="spearman"))

    legit = events[~events["is_fraud"] & events["card_present"]]
    legit = legit[legit["merchant_category"].isin(["electronics", "department_store", "jewelry"])]
    assert rank_correlation(store) < 0.3 < rank_correlation(legit)
    # During the ring city's shop hours, whatever the card's rhythm.
    offset_h = store["city"].map({c.name: c.utc_offset for c in CITIES})
    local_hour = (store["event_time"] + pd.to_timedelta(offset_h, unit="h")).dt.hour
    lo, hi = PARAMS.mc_shop_hours
    assert local_hour.between(lo, hi - 1).all()


def test_the_ring_cashes_out_many_cards_per_trip_often_far_from_the_victims(events: pd.DataFrame) -> None:
    store = _in_store_elsewhere(events)[["card_id", "city", "event_time"]]
    pairs = store.merge(store, on="city", suffixes=("", "_other"))
    trip = pd.Timedelta(microseconds=PARAMS.mc_outing_us)
    close = pairs[
        (pairs["card_id"] != pairs["card_id_other"])
        & ((pairs["event_time"] - pairs["event_time_other"]).abs() <= trip)
    ]
    others = close.groupby(["card_id", "city", "event_time"])["card_id_other"].nunique()
    # Most swipes share a trip with at least two other victims' cards in the same city.
    assert (others.reindex(pd.MultiIndex.from_frame(store)).fillna(0) >= 2).mean() > 0.6
    home = (
        events[~events["is_fraud"] & events["card_present"]]
        .groupby("card_id")["city"]
        .agg(lambda cities: cities.mode()[0])
    )
    away = store["city"].to_numpy() != home.reindex(store["card_id"]).to_numpy()
    assert 0.2 < away.mean() < 0.8, "the ring's city: the victims' own or another"


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
