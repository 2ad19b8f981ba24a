"""The rollups answer every chart exactly as the facts would, for any filters and date range.

A random but fixed warehouse (dimensions with a device of unknown OS and card-present rows,
two model versions, alerts in every status, analyst verdicts both ways, unlabelled analyst
fraud) is loaded the way the pipeline loads it: in two overlapping batches, each followed by
the rollup refresh of the days it touched (facts, then predictions), then analyst verdicts
through the dashboard (which refreshes their day) and alerts sent after the last refresh.
Hypothesis then draws filter combinations and date ranges; every dashboard figure must equal
the same aggregate computed from the facts with the fact-table SQL the dashboard used before
the rollups existed.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import streamlit as st
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as hs

from fraudstack.dashboard import queries
from fraudstack.dashboard.filters import DIMENSIONS, FRAUD, Filters, facts_from
from fraudstack.settings import Settings
from fraudstack.warehouse import connect, rollups, table
from tests.dashboard import known_data
from tests.support.stack import RunningStack
from tests.support.warehouse import scratch_database

FIRST = date(2026, 2, 1)
DAYS = 12
CARDS = [
    (f"c{i}", ["credit", "debit", "prepaid"][i % 3], ["Bank A", "Bank B", "Bank C"][i % 4 % 3])
    for i in range(8)
]
MERCHANTS = [(f"m{i}", ["Grocery", "Electronics", "Travel"][i % 3]) for i in range(6)]
FRAUD_TYPES = ["card_testing", "account_takeover", None]  # None: labelled fraud without a type
DEVICES = [("d_ios", "ios"), ("d_and", "android"), ("d_unknown", None)]
#: Filter values offered, plus one that matches nothing.
VALUES: dict[str, list[str]] = {
    "Merchant category": ["Grocery", "Electronics", "Travel", "Nowhere"],
    "Card type": ["credit", "debit", "prepaid", "gold"],
    "Device OS": ["ios", "android", "card present", "windows"],
    "Issuing bank": ["Bank A", "Bank B", "Bank C", "Bank Z"],
}


def _facts(rng: random.Random, first: int, last: int, count: int, start_id: int) -> list[tuple[Any, ...]]:
    rows = []
    for n in range(count):
        when = datetime.combine(FIRST, datetime.min.time(), tzinfo=UTC) + timedelta(
            days=rng.randint(first, last), seconds=rng.randint(0, 86_399)
        )
        card = rng.choice(CARDS)[0]
        device = rng.choice([None, None, *[d for d, _ in DEVICES]])
        fraud = rng.random() < 0.25
        rows.append(
            (f"x{start_id + n:04d}", when, rollups.date_key(when), when.hour * 100 + when.minute,
             f"cust{card[-1]}", card, rng.choice(MERCHANTS)[0], device, "US:New York",
             f"{rng.randint(1, 50000) / 100:.2f}", "USD", "pos" if device is None else "ecom",
             "chip" if device is None else "card_not_present", None if device is None else "203.0.113.7",
             None if device is None else rng.random() < 0.4, 40.7, -74.0, fraud,
             rng.choice(FRAUD_TYPES) if fraud else None, 1, "s3://raw/x", "run-x")
        )  # fmt: skip
    return rows


def _load_batch(wh: Any, rng: random.Random, facts: list[tuple[Any, ...]], versions: list[str]) -> None:
    """One pipeline round: facts (ETL), predictions (inference), each with its rollup refresh,
    then the alerts the predictions raise, sent now (the alert Lambda, after the last refresh)."""
    columns = [
        c
        for c in table("fact_transactions").column_names
        if c not in {"analyst_label", "analyst_labeled_at", "loaded_at"}
    ]
    wh.upsert("fact_transactions", facts, columns=columns, update=False)
    days = {f[2] for f in facts}
    rollups.refresh(wh, days, rollups.FACTS)
    wh.commit()
    predictions, alerts = [], []
    for f in facts:
        for n, version in enumerate(versions):  # the later version scores each row later
            score = round(rng.random() ** (0.3 if f[17] else 3), 4)
            decision = "decline" if score >= 0.8 else "review" if score >= 0.5 else "approve"
            predictions.append((f[0], version, score, decision, f[1] + timedelta(minutes=1, seconds=n), None))
        if predictions[-1][3] != "approve":
            alerts.append((f[0], versions[-1], rng.choice(["sent", "sent", "claimed", "failed"])))
    wh.upsert("fraud_predictions", predictions)
    rollups.refresh(wh, days, rollups.PREDICTIONS)
    wh.commit()
    now = datetime.now(UTC)
    wh.copy(
        "fraud_alerts",
        ["transaction_id", "model_version", "status", "claimed_at", "sent_at"],
        [(t, v, status, now, now if status == "sent" else None) for t, v, status in alerts],
    )
    wh.commit()


@pytest.fixture(scope="module")
def warehouse(stack: RunningStack) -> Iterator[Settings]:
    """The random warehouse, loaded the pipeline's way (see the module docstring)."""
    rng = random.Random(20)
    with scratch_database(stack.settings) as settings, pytest.MonkeyPatch.context() as mp:
        assert settings.warehouse_dsn is not None
        mp.setenv("FRAUDSTACK_WAREHOUSE_DSN", settings.warehouse_dsn.get_secret_value())
        with connect(settings) as wh:
            dates, times = known_data.calendar_rows(FIRST - timedelta(days=1), FIRST + timedelta(days=DAYS))
            wh.upsert("dim_date", dates)
            wh.upsert("dim_time", times)
            wh.upsert("dim_customer", [(f"cust{i}", date(2020, 1, 1)) for i in range(8)])
            wh.upsert("dim_card", [(c, f"tok{c}", kind, bank, f"cust{c[-1]}") for c, kind, bank in CARDS])
            wh.upsert("dim_merchant", [(m, m, "5999", cat, 40.7, -74.0) for m, cat in MERCHANTS])
            wh.upsert("dim_device", DEVICES)
            wh.upsert("dim_location", [("US:New York", "New York", "US")])
            _load_batch(wh, rng, _facts(rng, 0, 5, 150, 0), ["v1"])
            _load_batch(wh, rng, _facts(rng, 4, DAYS - 1, 250, 150), ["v1", "v2"])  # overlaps days 4-5
            claimed = [
                int(a)
                for (a,) in wh.query("SELECT alert_id FROM fraud_alerts WHERE status = 'claimed' ORDER BY 1")
            ]
        for n, alert_id in enumerate(claimed[:12]):  # verdicts both ways, through the dashboard
            queries.label_alert(alert_id, "legitimate" if n % 3 else "fraud")
        with connect(settings) as wh:  # the alert Lambda sends some after the last refresh
            wh.execute(
                "UPDATE fraud_alerts SET status = 'sent', sent_at = %s WHERE alert_id IN (%s, %s, %s, %s)",
                [datetime.now(UTC) + timedelta(seconds=1), *claimed[-4:]],
            )
            wh.execute(  # analyst-confirmed fraud the label missed (no fraud type)
                "UPDATE fact_transactions SET analyst_label = 'fraud' WHERE transaction_id IN "
                "(SELECT f.transaction_id FROM fact_transactions f JOIN fraud_alerts a "
                "ON a.transaction_id = f.transaction_id WHERE a.alert_id = %s)",
                [claimed[13]],
            )
            day = wh.query(
                "SELECT f.date_key FROM fact_transactions f JOIN fraud_alerts a "
                "ON a.transaction_id = f.transaction_id WHERE a.alert_id = %s",
                [claimed[13]],
            )
            rollups.refresh(wh, [int(day[0][0])])
        yield settings


def test_analyst_verdicts_are_label_events(warehouse: Settings) -> None:
    """Each verdict given through the dashboard is a fact_labels row (analyst, known when given)."""
    rows = _rows(
        warehouse,
        "SELECT a.analyst_label, l.is_fraud, l.known_at, a.labeled_at FROM fraud_alerts a "
        "JOIN fact_labels l ON l.transaction_id = a.transaction_id AND l.source = 'analyst'",
        [],
    )
    assert len(rows) == 12
    assert all(
        is_fraud == (verdict == "fraud") and known == labeled for verdict, is_fraud, known, labeled in rows
    )
    alert_id, transaction_id = _rows(
        warehouse,
        "SELECT a.alert_id, a.transaction_id FROM fraud_alerts a JOIN fact_labels l "
        "ON l.transaction_id = a.transaction_id WHERE a.analyst_label = 'legitimate' ORDER BY 1 LIMIT 1",
        [],
    )[0]
    queries.label_alert(alert_id, "fraud")  # a changed verdict replaces the earlier one
    changed = _rows(
        warehouse,
        "SELECT is_fraud FROM fact_labels WHERE transaction_id = %s AND source = 'analyst'",
        [transaction_id],
    )
    assert changed == [(True,)]
    queries.label_alert(alert_id, "legitimate")  # back as the other tests expect


# --- the same figures, from the facts (the dashboard's SQL before the rollups) -----------------
def _rows(settings: Settings, sql: str, params: list[Any]) -> list[tuple[Any, ...]]:
    with connect(settings) as wh:
        return wh.query(sql, params)


def _daily_from_facts(settings: Settings, filters: Filters) -> dict[int, tuple[Any, ...]]:
    where, params = filters.where(include_time=False)
    span = [filters.previous().bounds()[0], filters.bounds()[1]]
    facts = _rows(
        settings,
        f"SELECT f.date_key, COUNT(*), SUM(f.amount), SUM(CASE WHEN {FRAUD} THEN 1 ELSE 0 END), "
        f"SUM(CASE WHEN {FRAUD} THEN f.amount ELSE 0 END) FROM {facts_from(dimensions=filters.active)} "
        f"WHERE f.event_ts >= %s AND f.event_ts < %s AND {where} GROUP BY f.date_key",
        [*span, *params],
    )
    alerts = dict(
        _rows(
            settings,
            f"SELECT f.date_key, COUNT(*) FROM fraud_alerts a JOIN {facts_from(dimensions=filters.active)} "
            f"ON f.transaction_id = a.transaction_id WHERE a.status = 'sent' AND f.event_ts >= %s "
            f"AND f.event_ts < %s AND {where} GROUP BY f.date_key",
            [*span, *params],
        )
    )
    return {k: (n, float(v), fr, float(loss), alerts.get(k, 0)) for k, n, v, fr, loss in facts}


def _by_dimension_from_facts(settings: Settings, filters: Filters, dimension: str) -> list[tuple[Any, ...]]:
    where, params = filters.where()
    expr = DIMENSIONS[dimension]
    return _rows(
        settings,
        f"SELECT {expr}, COUNT(*), SUM(CASE WHEN {FRAUD} THEN 1 ELSE 0 END) "
        f"FROM {facts_from(dimensions=(*filters.active, dimension))} WHERE {where} "
        f"GROUP BY {expr} ORDER BY 3 DESC, 1",
        params,
    )


def _predictions_from_facts(settings: Settings, filters: Filters, version: str) -> dict[tuple[Any, ...], int]:
    where, params = filters.where()
    rows = _rows(
        settings,
        f"SELECT f.date_key, p.decision, LEAST(FLOOR(p.score * %s), %s), {FRAUD}, COUNT(*) "
        f"FROM fraud_predictions p JOIN {facts_from(dimensions=filters.active)} "
        f"ON f.transaction_id = p.transaction_id WHERE p.model_version = %s AND {where} GROUP BY 1, 2, 3, 4",
        [queries.SCORE_BINS, queries.SCORE_BINS - 1, version, *params],
    )
    return {(k, d, int(b), bool(fr)): n for k, d, b, fr, n in rows}


def _frauds_from_facts(settings: Settings, filters: Filters) -> list[tuple[Any, ...]]:
    """Per fraud: day, type, VPN, first customer-merchant pair, new device (whole history)."""
    where, params = filters.where()
    return _rows(
        settings,
        "SELECT f.date_key, COALESCE(f.fraud_type, 'unlabelled'), COALESCE(f.ip_is_vpn, FALSE), "
        "NOT EXISTS (SELECT 1 FROM fact_transactions e WHERE e.customer_id = f.customer_id "
        "AND e.merchant_id = f.merchant_id AND e.event_ts < f.event_ts), "
        "f.device_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM fact_transactions e "
        "WHERE e.card_id = f.card_id AND e.device_id = f.device_id AND e.event_ts < f.event_ts) "
        f"FROM {facts_from(dimensions=filters.active)} WHERE {where} AND {FRAUD}",
        params,
    )


# --- the property ---------------------------------------------------------------------------------
@hs.composite
def filter_choices(draw: hs.DrawFn) -> Filters:
    start = FIRST + timedelta(days=draw(hs.integers(-3, DAYS)))
    end = start + timedelta(days=draw(hs.integers(0, DAYS)))
    selected = tuple(
        (name, tuple(picked))
        for name, values in VALUES.items()
        if (picked := draw(hs.lists(hs.sampled_from(values), unique=True, max_size=3)))
    )
    return Filters(start, end, selected)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(filters=filter_choices())
def test_every_chart_equals_the_facts(warehouse: Settings, filters: Filters) -> None:
    st.cache_data.clear()
    daily = queries.daily_totals(filters)
    got = {
        int(r.date_key): (
            int(r.count),
            float(r.value),
            int(r.frauds),
            float(r.fraud_loss),
            int(r.alerts_sent),
        )
        for r in daily.itertuples()
    }
    expected = _daily_from_facts(warehouse, filters)
    assert got.keys() == expected.keys()
    for key, row in expected.items():
        assert got[key] == pytest.approx(row, rel=1e-12), key

    for dimension in DIMENSIONS:
        frame = queries.fraud_by_dimension(filters, dimension)
        assert frame[["value", "transactions", "frauds"]].values.tolist() == [
            list(r) for r in _by_dimension_from_facts(warehouse, filters, dimension)
        ], dimension

    assert queries.model_versions() == ["v2", "v1"]
    for version in ("v1", "v2"):
        summary = queries.prediction_summary(filters, version)
        got_predictions = {
            (int(r.date_key), r.decision, int(r.bin), bool(r.is_fraud)): int(r.count)
            for r in summary.itertuples()
        }
        assert got_predictions == _predictions_from_facts(warehouse, filters, version), version

    frauds = _frauds_from_facts(warehouse, filters)
    types: dict[tuple[int, str], int] = {}
    segments: dict[int, list[int]] = {}
    for key, kind, vpn, first_pair, new_device in frauds:
        types[(key, kind)] = types.get((key, kind), 0) + 1
        counts = segments.setdefault(key, [0, 0, 0])
        for n, flag in enumerate((vpn, first_pair, new_device)):
            counts[n] += int(flag)
    by_type = queries.fraud_types(filters)
    assert {(int(r.date_key), r.fraud_type): int(r.frauds) for r in by_type.itertuples()} == types
    trends = queries.segment_trends(filters)
    got_segments = {
        int(r[0]): [int(v) for v in r[1:]]
        for r in trends[["date_key", "VPN", "First-time customer-merchant pair", "New device"]].values
    }
    for key in {*got_segments, *segments}:
        assert got_segments.get(key, [0, 0, 0]) == segments.get(key, [0, 0, 0]), key


def test_the_data_exercises_every_path(warehouse: Settings) -> None:
    """Guard against a vacuous property: late alerts, verdicts and unlabelled fraud exist."""
    with connect(warehouse) as wh:
        late = wh.query(
            "SELECT COUNT(*) FROM fraud_alerts a "
            "JOIN fact_transactions f ON f.transaction_id = a.transaction_id "
            "JOIN rollup_days r ON r.date_key = f.date_key "
            "WHERE a.status = 'sent' AND a.sent_at >= r.refreshed_at"
        )[0][0]
        verdicts = dict(wh.query("SELECT analyst_label, COUNT(*) FROM fact_transactions GROUP BY 1"))
        unlabelled = wh.query("SELECT SUM(frauds) FROM rollup_frauds WHERE fraud_type = 'unlabelled'")[0][0]
        rolled_up = wh.query("SELECT SUM(alerts_sent) FROM rollup_transactions")[0][0]
    assert late >= 4  # the last batch's alerts and those sent after it
    assert verdicts.get("fraud", 0) >= 2 and verdicts.get("legitimate", 0) >= 2
    assert unlabelled >= 1
    assert rolled_up >= 1  # sent before a later refresh of their day (the overlapping days)
