"""The dashboard's pure parts: filter SQL, periods, KPI formatting, travel distances."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pandas as pd
import pytest

from fraudstack.dashboard import charts, geo
from fraudstack.dashboard.filters import Filters, facts_from
from fraudstack.dashboard.views.overview import headline


def test_filters_are_parameterised_and_join_only_what_they_need() -> None:
    filters = Filters(
        date(2026, 1, 11), date(2026, 1, 20), (("Card type", ("credit", "debit")), ("Device OS", ()))
    )
    where, params = filters.where()
    assert where == "f.event_ts >= %s AND f.event_ts < %s AND c.card_type IN (%s, %s)"
    assert params == [datetime(2026, 1, 11, tzinfo=UTC), datetime(2026, 1, 21, tzinfo=UTC), "credit", "debit"]
    assert (
        facts_from(dimensions=filters.active)
        == "fact_transactions f JOIN dim_card c ON c.card_id = f.card_id"
    )
    assert (
        "'; DROP"
        not in Filters(date(2026, 1, 1), date(2026, 1, 1), (("Card type", ("'; DROP",)),)).where()[0]
    )


def test_previous_period_has_the_same_length_just_before() -> None:
    previous = Filters(date(2026, 1, 11), date(2026, 1, 20)).previous()
    assert (previous.start, previous.end, previous.days) == (date(2026, 1, 1), date(2026, 1, 10), 10)


def test_headline_omits_changes_without_a_previous_period() -> None:
    current = pd.Series({"count": 4, "value": 100.0, "frauds": 1, "fraud_loss": 25.0, "alerts_sent": 2})
    empty = pd.Series({"count": 0, "value": 0.0, "frauds": 0, "fraud_loss": 0.0, "alerts_sent": 0})
    kpis = {k.label: (k.value, k.delta) for k in headline(current, empty)}
    assert kpis == {
        "Transaction value": ("100.00", None),
        "Transactions": ("4", None),
        "Fraud rate": ("25.00%", None),
        "Fraud loss": ("25.00", None),
        "Alerts sent": ("2", None),
    }


def test_travel_distance_and_speed_between_card_uses() -> None:
    assert geo.haversine_km(40.7128, -74.0060, 51.5074, -0.1278) == pytest.approx(5570, abs=5)
    history = pd.DataFrame(
        {
            "transaction_id": ["b", "a"],
            "event_ts": [datetime(2026, 1, 1, 11, tzinfo=UTC), datetime(2026, 1, 1, 10, tzinfo=UTC)],
            "lat": [51.5074, 40.7128],
            "lon": [-0.1278, -74.0060],
        }
    )
    travel = geo.with_travel(history)
    assert travel["transaction_id"].tolist() == ["a", "b"]
    assert travel["hours_from_previous"].iloc[1] == 1.0
    assert travel["speed_kmh"].iloc[1] > geo.IMPOSSIBLE_SPEED_KMH


def test_daily_lines_never_go_below_zero_and_mark_the_partial_day() -> None:
    frame = pd.DataFrame(
        {"day": pd.date_range("2026-01-01", periods=3), "transactions": [900, 1000, 40], "frauds": [9, 10, 0]}
    )
    spec = charts.daily_lines(
        frame, ["transactions", "frauds"], name="series", value="count", partial_day=date(2026, 1, 3)
    ).to_dict()
    layers = spec["layer"]
    solid, dashed, points = layers
    for layer in (solid, dashed):
        assert layer["mark"]["interpolate"] == "linear"  # no smoothing overshoot below zero
        assert layer["encoding"]["y"]["scale"] == {"clamp": True, "domainMin": 0}
    assert "strokeDash" in dashed["mark"]
    datasets = spec["datasets"]
    solid_days = {row["day"][:10] for row in datasets[solid["data"]["name"]]}
    dashed_days = {row["day"][:10] for row in datasets[dashed["data"]["name"]]}
    assert solid_days == {"2026-01-01", "2026-01-02"}
    assert dashed_days == {"2026-01-02", "2026-01-03"}
    partial = [row for row in datasets[points["data"]["name"]] if row["partial"]]
    assert {row["day"][:10] for row in partial} == {"2026-01-03"}
