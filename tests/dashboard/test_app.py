"""The dashboard in-process (``AppTest``) against a real warehouse holding known data."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from pydantic import SecretStr
from streamlit.testing.v1 import AppTest

from fraudstack.dashboard import queries
from fraudstack.dashboard.filters import Filters
from fraudstack.drift import COLUMNS
from fraudstack.model.performance import COLUMNS as PERFORMANCE_COLUMNS
from fraudstack.settings import Settings
from fraudstack.warehouse import connect
from tests.dashboard import known_data
from tests.dashboard.conftest import APP, pointing_at
from tests.support.stack import RunningStack
from tests.support.warehouse import scratch_database


def _metrics(at: AppTest) -> dict[str, tuple[str, str | None]]:
    return {m.label: (m.value, m.delta or None) for m in at.metric}


def _show(at: AppTest, view: str) -> AppTest:
    at.sidebar.radio(key="view").set_value(view).run()
    assert not at.exception, at.exception
    return at


def test_headline_kpis_are_exact_with_change_vs_previous_period(app: AppTest) -> None:
    assert _metrics(app) == {
        "Transaction value": ("1,200.00", "+140.0%"),
        "Transactions": ("6", "+50.0%"),
        "Fraud rate": ("50.00%", "+25.00 pp"),
        "Fraud loss": ("750.00", "+525.0%"),
        "Alerts sent": ("3", "+200.0%"),
    }
    assert "2026-01-01 to 2026-01-10" in app.caption[0].value


def test_dimension_filter_changes_every_figure(app: AppTest) -> None:
    app.sidebar.multiselect(key="filter_Card type").set_value(["credit"]).run()
    assert _metrics(app) == {
        "Transaction value": ("300.00", "+66.7%"),
        "Transactions": ("3", "+50.0%"),
        "Fraud rate": ("33.33%", "+33.33 pp"),
        "Fraud loss": ("150.00", None),
        "Alerts sent": ("1", None),
    }


def test_time_range_filter_changes_figures(app: AppTest) -> None:
    app.date_input(key="range").set_value((date(2026, 1, 13), date(2026, 1, 13))).run()
    metrics = _metrics(app)
    # 2026-01-13 holds t03 (200.00, fraud); the day before holds t02 and t06 (150.00, fraud).
    assert metrics["Transactions"] == ("1", "-50.0%")
    assert metrics["Fraud loss"] == ("200.00", "+33.3%")


def test_operations_breakdown_is_pivotable(app: AppTest) -> None:
    _show(app, "operations")
    by_category = app.dataframe[0].value
    assert by_category[["Merchant category", "transactions", "frauds"]].values.tolist() == [
        ["Electronics Stores", 4, 3],
        ["Grocery Stores", 2, 0],
    ]
    app.selectbox(key="breakdown").set_value("Issuing bank").run()
    by_bank = app.dataframe[0].value
    assert by_bank[["Issuing bank", "transactions", "frauds"]].values.tolist() == [
        ["Bank A", 4, 2],
        ["Bank B", 2, 1],
    ]
    assert len(app.get("vega_lite_chart")) == 3  # donut, counts, rates


def test_decision_split_follows_the_filters(known: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    pointing_at(monkeypatch, known)
    current = Filters(*known_data.CURRENT)
    split = dict(queries.decisions(current, known_data.MODEL).values.tolist())
    assert split == {"decline": 3, "approve": 2, "review": 1}
    debit = Filters(*known_data.CURRENT, selected=(("Card type", ("debit",)),))
    assert dict(queries.decisions(debit, known_data.MODEL).values.tolist()) == {"decline": 1, "review": 1}


def test_model_performance_from_labels(app: AppTest) -> None:
    _show(app, "performance")
    metrics = _metrics(app)
    assert metrics["Precision (range)"][0] == "75.00%"
    assert metrics["False-positive rate (range)"][0] == "33.33%"
    assert len(app.get("vega_lite_chart")) == 2  # precision/FPR per day, score distribution
    assert any("model" in block.value.lower() for block in app.info)  # no model promoted: an empty state


def test_trends_in_high_risk_segments(app: AppTest, known: Settings) -> None:
    _show(app, "trends")
    assert len(app.get("vega_lite_chart")) == 2
    segments = queries.segment_trends(Filters(*known_data.CURRENT))
    totals = segments[["VPN", "First-time customer-merchant pair", "New device"]].sum().to_dict()
    assert totals == {"VPN": 2, "First-time customer-merchant pair": 1, "New device": 1}
    types = queries.fraud_types(Filters(*known_data.CURRENT)).groupby("fraud_type")["frauds"].sum().to_dict()
    assert types == {"account_takeover": 1, "card_testing": 1, "impossible_travel": 1}


def test_alert_drill_down_shows_transaction_history_travel_and_reasons(app: AppTest) -> None:
    _show(app, "alerts")
    assert app.dataframe[0].value["transaction_id"].tolist() == ["t05", "t04", "t03", "t06"]
    alert_ids = dict(
        zip(app.dataframe[0].value["transaction_id"], app.dataframe[0].value["alert_id"], strict=True)
    )
    app.selectbox(key="alert").set_value(int(alert_ids["t06"])).run()
    details = dict(app.dataframe[1].value.values.tolist())
    assert (details["transaction_id"], details["city"], details["amount"]) == ("t06", "London", "150.0")
    history = app.dataframe[2].value
    assert history["transaction_id"].tolist() == ["t06", "t02", "t01", "t10", "t07"]
    metrics = _metrics(app)
    assert metrics["Distance from previous use"][0] == "5,570 km"
    assert metrics["Implied speed"][0] == "5,570 km/h"
    assert "Impossible travel" in app.warning[0].value
    assert len(app.get("vega_lite_chart")) == 2  # reason codes, travel path


def test_a_label_click_is_stored_in_the_warehouse(app: AppTest, known: Settings) -> None:
    _show(app, "alerts")
    alerts = app.dataframe[0].value
    t04 = int(alerts.loc[alerts["transaction_id"] == "t04", "alert_id"].iloc[0])
    app.selectbox(key="alert").set_value(t04).run()
    app.text_input(key="feedback").input("regular customer, new laptop").run()
    app.button(key="label_legit").click().run()
    assert not app.exception, app.exception
    assert f"Alert #{t04} marked false positive." in app.success[0].value
    with connect(known) as wh:
        alert = wh.query(
            "SELECT analyst_label, analyst_feedback, labeled_at IS NOT NULL FROM fraud_alerts "
            "WHERE alert_id = %s",
            (t04,),
        )
        fact = wh.query(
            "SELECT analyst_label, analyst_labeled_at IS NOT NULL FROM fact_transactions "
            "WHERE transaction_id = 't04'"
        )
    assert alert == [("legitimate", "regular customer, new laptop", True)]
    assert fact == [("legitimate", True)]
    shown = app.dataframe[0].value
    assert shown.loc[shown["transaction_id"] == "t04", "analyst_label"].tolist() == ["legitimate"]


@pytest.mark.parametrize("view", ["overview", "operations", "performance", "health", "trends", "alerts"])
def test_views_have_urls_and_render_without_errors(
    known: Settings, monkeypatch: pytest.MonkeyPatch, view: str
) -> None:
    pointing_at(monkeypatch, known)
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["view"] = view
    at.run()
    assert not at.exception, at.exception
    assert not at.error
    assert at.sidebar.radio(key="view").value == view


def test_empty_warehouse_shows_an_empty_state(stack: RunningStack, monkeypatch: pytest.MonkeyPatch) -> None:
    with scratch_database(stack.settings) as empty:
        pointing_at(monkeypatch, empty)
        at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception
    assert "No transactions in the warehouse yet" in at.info[0].value


def test_unmigrated_warehouse_says_what_to_run(stack: RunningStack, monkeypatch: pytest.MonkeyPatch) -> None:
    with scratch_database(stack.settings, migrated=False) as bare:
        pointing_at(monkeypatch, bare)
        at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception
    assert "fraudstack warehouse migrate" in at.error[0].value


def test_unreachable_warehouse_is_one_message(
    known: Settings, monkeypatch: pytest.MonkeyPatch, unreachable_dsn: str
) -> None:
    pointing_at(monkeypatch, known.model_copy(update={"warehouse_dsn": SecretStr(unreachable_dsn)}))
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception
    assert at.error[0].value.startswith("Warehouse unreachable: cannot connect to the warehouse")


def test_model_health_shows_drift_per_window_with_the_model_versions(app: AppTest, known: Settings) -> None:
    """Two drift windows measured against two model versions; the latest lists its broken feature first."""
    ends = (datetime(2026, 1, 14, tzinfo=UTC), datetime(2026, 1, 15, tzinfo=UTC))
    rows = [
        ("v-old", ends[0] - timedelta(days=1), ends[0], "amount", "feature", 0.02, "stable", 500),
        ("v-old", ends[0] - timedelta(days=1), ends[0], "score", "score", 0.05, "stable", 500),
        ("v-new", ends[1] - timedelta(days=1), ends[1], "amount", "feature", 0.61, "broken", 480),
        ("v-new", ends[1] - timedelta(days=1), ends[1], "n_24h", "feature", 0.12, "moderate", 480),
        ("v-new", ends[1] - timedelta(days=1), ends[1], "score", "score", 0.3, "broken", 480),
    ]
    with connect(known) as wh:
        wh.upsert("model_drift", rows, columns=COLUMNS, update=True)
    try:
        queries.model_drift.clear()
        _show(app, "health")
        latest = app.dataframe[0].value
        assert latest["metric"].tolist() == ["amount", "score", "n_24h"]
        assert latest["status"].tolist() == ["broken", "broken", "moderate"]
        assert any("model v-new" in c.value for c in app.caption)
        assert len(app.get("vega_lite_chart")) == 3  # feature drift, score drift, precision
    finally:
        with connect(known) as wh:
            wh.execute("DELETE FROM model_drift WHERE model_version IN ('v-old', 'v-new')")


def test_model_health_charts_delayed_label_recall_and_ap_per_version(app: AppTest, known: Settings) -> None:
    """Stored per-day figures of two versions: recall at budget and AP charted, young days named."""
    day = datetime(2026, 1, 14, tzinfo=UTC)
    rows = [
        (
            version,
            day + timedelta(days=i),
            day + timedelta(days=i + 1),
            900,
            9,
            20,
            7,
            0.35,
            recall,
            0.005,
            ap,
            i == 0,
            day,
        )
        for version, i, recall, ap in (("v-old", 0, 0.6, 0.55), ("v-new", 1, 0.8, 0.7))
    ]
    with connect(known) as wh:
        wh.upsert("model_performance", rows, columns=PERFORMANCE_COLUMNS, update=True)
    try:
        queries.model_performance.clear()
        _show(app, "health")
        shown = queries.model_performance(date(2026, 1, 14), date(2026, 1, 15))
        assert shown[["model_version", "recall_at_budget"]].values.tolist() == [
            ["v-old", 0.6],
            ["v-new", 0.8],
        ]
        assert any("days from 2026-01-15 are younger" in c.value for c in app.caption)
        assert len(app.get("vega_lite_chart")) == 3  # recall at budget, AP, precision (no drift rows)
    finally:
        with connect(known) as wh:
            wh.execute("DELETE FROM model_performance WHERE model_version IN ('v-old', 'v-new')")
