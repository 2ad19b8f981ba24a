"""Every query the dashboard runs, cached and parameterised, through the warehouse module.

Why one module: the SQL is the contract with the star schema (:mod:`fraudstack.warehouse.star_schema`),
so it lives in one reviewable place; views only receive DataFrames. Values always travel as
``%s`` parameters; the only SQL built from strings is our own fixed identifiers and
placeholders (see :mod:`.filters`). Results are cached for :data:`CACHE_SECONDS` per filter
combination; :func:`label_alert` clears the cache because a label changes what counts as fraud.

Every chart and KPI reads the daily rollups (:mod:`fraudstack.warehouse.rollups`), whose size
does not grow with the traffic, so a filter change costs the same at 10M transactions as at
10k. The facts are read only to drill down (the alert list, one transaction, a card's
history) and for the alerts sent since their day was rolled up, all through indexed keys.

Money is summed as ``DOUBLE PRECISION`` for display; the warehouse keeps exact ``NUMERIC``.
A prediction is *flagged* when its decision is anything but :data:`APPROVE`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

import pandas as pd
import streamlit as st

from fraudstack.dashboard.filters import FRAUD, ROLLUP_COLUMNS, Filters, facts_from
from fraudstack.errors import FraudstackError
from fraudstack.settings import load_settings
from fraudstack.warehouse import Dialect, connect, rollups

CACHE_SECONDS = 300
APPROVE = "approve"
AnalystLabel = Literal["fraud", "legitimate"]
_cached = st.cache_data(ttl=CACHE_SECONDS, show_spinner=False)


def _frame(sql: str, params: Sequence[Any], columns: Sequence[str]) -> pd.DataFrame:
    """Run one parameterised ``SELECT`` on a fresh connection; rows as a DataFrame.

    PostgreSQL sessions get two settings: no JIT (the aggregates on a million rows are costed
    high enough to trigger it, and compiling takes longer - about 2 s - than running them),
    and enough ``work_mem`` for the fact/prediction hash join to stay in memory instead of
    spilling to temporary files. Redshift manages both itself.
    """
    with connect(load_settings()) as wh:
        if wh.dialect is Dialect.POSTGRES:
            wh.execute("SET jit = off")
            wh.execute("SET work_mem = '128MB'")
        rows = wh.query(sql, params)
    return pd.DataFrame(rows, columns=list(columns))


# --- what exists ------------------------------------------------------------------------------
@_cached
def data_range() -> tuple[date, date] | None:
    """First and last transaction day, or None while the warehouse holds no transactions."""
    frame = _frame("SELECT MIN(date_key), MAX(date_key) FROM rollup_days", (), ["first", "last"])
    first, last = frame.iloc[0]
    if first is None or pd.isna(first):
        return None
    return _day(int(first)), _day(int(last))


@_cached
def newest_event() -> datetime | None:
    """The newest transaction's time: its day is partial (later events may still arrive)."""
    frame = _frame("SELECT MAX(last_event_ts) FROM rollup_days", (), ["last"])
    last = frame.iloc[0]["last"]
    return None if last is None or pd.isna(last) else pd.Timestamp(last).to_pydatetime().astimezone(UTC)


@_cached
def dimension_values(name: str) -> list[str]:
    """The values a dimension filter offers (from the dimension tables: cheap on any size)."""
    sources = {
        "Merchant category": "SELECT DISTINCT merchant_category FROM dim_merchant",
        "Card type": "SELECT DISTINCT card_type FROM dim_card",
        "Device OS": "SELECT DISTINCT COALESCE(device_os, 'unknown') FROM dim_device "
        "UNION SELECT 'card present'",
        "Issuing bank": "SELECT DISTINCT issuing_bank FROM dim_card",
    }
    frame = _frame(sources[name], (), ["value"])
    return sorted(str(v) for v in frame["value"])


@_cached
def model_versions() -> list[str]:
    """Model versions that have predictions, most recently used first (ties: the higher name)."""
    frame = _frame(
        "SELECT model_version FROM rollup_predictions GROUP BY model_version "
        "ORDER BY MAX(last_scored_at) DESC, model_version DESC",
        (),
        ["model_version"],
    )
    return [str(v) for v in frame["model_version"]]


# --- headline KPIs ----------------------------------------------------------------------------
@_cached
def daily_totals(filters: Filters) -> pd.DataFrame:
    """Per day of this period and the previous one: count, value, frauds, fraud loss, alerts sent.

    Why per day over both periods in one query: the KPIs (sums per period) and the daily chart
    both come from it. Days are UTC (``date_key``). Alerts sent since their day was rolled up
    are added from ``fraud_alerts`` (:func:`_alerts_since_rollup`).
    """
    where, params = filters.rollup_where(since=filters.previous().start)
    frame = _frame(
        "SELECT r.date_key, CAST(SUM(r.transactions) AS BIGINT), CAST(SUM(r.amount) AS DOUBLE PRECISION), "
        "CAST(SUM(r.frauds) AS BIGINT), CAST(SUM(r.fraud_amount) AS DOUBLE PRECISION), "
        f"CAST(SUM(r.alerts_sent) AS BIGINT) FROM rollup_transactions r WHERE {where} GROUP BY r.date_key",
        params,
        ["date_key", "count", "value", "frauds", "fraud_loss", "alerts_sent"],
    )
    late = _alerts_since_rollup(filters)
    if not late.empty:
        frame = frame.merge(late, on="date_key", how="left").fillna({"late": 0})
        frame["alerts_sent"] = (frame["alerts_sent"] + frame.pop("late")).astype(int)
    return _with_day(frame.sort_values("date_key", ignore_index=True))


def _alerts_since_rollup(filters: Filters) -> pd.DataFrame:
    """Alerts sent after their transaction's day was rolled up, per day of both periods.

    The alert Lambda runs after the pipeline's last rollup refresh; the few alerts it sent
    since are found in ``fraud_alerts`` (a scan of the small alert table, then the facts'
    primary key) rather than waiting for the next refresh of their day.
    """
    where, params = filters.where(include_time=False)
    span = [filters.previous().bounds()[0], filters.bounds()[1]]
    first, last = rollups.date_key(filters.previous().start), rollups.date_key(filters.end)
    return _frame(
        f"SELECT f.date_key, COUNT(*) FROM fraud_alerts a "
        f"JOIN {facts_from(dimensions=filters.active)} ON f.transaction_id = a.transaction_id "
        "JOIN rollup_days rd ON rd.date_key = f.date_key "
        "WHERE a.status = 'sent' AND a.sent_at >= rd.refreshed_at "
        "AND a.sent_at >= (SELECT MIN(refreshed_at) FROM rollup_days "
        "WHERE date_key >= %s AND date_key <= %s) "
        f"AND f.event_ts >= %s AND f.event_ts < %s AND {where} GROUP BY f.date_key",
        [first, last, *span, *params],
        ["date_key", "late"],
    )


def kpis(filters: Filters) -> pd.DataFrame:
    """One row per period (``current``, ``previous``): count, value, frauds, fraud loss, alerts sent."""
    daily = daily_totals(filters)
    start = pd.Timestamp(filters.start)
    daily["period"] = ["current" if day >= start else "previous" for day in daily["day"]]
    sums = daily.groupby("period")[["count", "value", "frauds", "fraud_loss", "alerts_sent"]].sum()
    return sums.reindex(["current", "previous"], fill_value=0)


def daily_volume(filters: Filters) -> pd.DataFrame:
    """Transactions and frauds per day of the selected range."""
    daily = daily_totals(filters)
    current = daily.loc[daily["day"] >= pd.Timestamp(filters.start)]
    return _every_day(current.rename(columns={"count": "transactions"}), filters)


# --- operations -------------------------------------------------------------------------------
@_cached
def fraud_by_dimension(filters: Filters, dimension: str) -> pd.DataFrame:
    """Transactions, frauds and fraud rate per value of ``dimension``."""
    where, params = filters.rollup_where()
    column = ROLLUP_COLUMNS[dimension]
    frame = _frame(
        f"SELECT r.{column}, CAST(SUM(r.transactions) AS BIGINT), CAST(SUM(r.frauds) AS BIGINT) "
        f"FROM rollup_transactions r WHERE {where} GROUP BY r.{column} ORDER BY 3 DESC, 1",
        params,
        ["value", "transactions", "frauds"],
    )
    frame["fraud_rate"] = frame["frauds"] / frame["transactions"]
    return frame


# --- predictions (operations and model performance) ------------------------------------------
SCORE_BINS = rollups.SCORE_BINS


@_cached
def prediction_summary(filters: Filters, model_version: str) -> pd.DataFrame:
    """Predictions of one model version counted per day, decision, score bin and label.

    One query serves the decision donut, precision/FPR per day and the score histogram.
    """
    where, params = filters.rollup_where()
    return _frame(
        "SELECT r.date_key, r.decision, r.score_bin, r.is_fraud, CAST(SUM(r.predictions) AS BIGINT) "
        f"FROM rollup_predictions r WHERE r.model_version = %s AND {where} GROUP BY 1, 2, 3, 4",
        [model_version, *params],
        ["date_key", "decision", "bin", "is_fraud", "count"],
    )


def decisions(filters: Filters, model_version: str) -> pd.DataFrame:
    """Predictions per decision (approve / review / decline ...), most frequent first."""
    summary = prediction_summary(filters, model_version)
    out = summary.groupby("decision", as_index=False)["count"].sum()
    return out.sort_values(["count", "decision"], ascending=[False, True], ignore_index=True)


def daily_performance(filters: Filters, model_version: str) -> pd.DataFrame:
    """Per day: confusion counts of flagged vs labelled, precision and false-positive rate."""
    summary = prediction_summary(filters, model_version)
    flagged = summary["decision"] != APPROVE
    fraud = summary["is_fraud"].astype(bool)
    cells = {"tp": flagged & fraud, "fp": flagged & ~fraud, "tn": ~flagged & ~fraud, "fn": ~flagged & fraud}
    frame = pd.DataFrame({name: summary["count"].where(mask, 0) for name, mask in cells.items()})
    frame["date_key"] = summary["date_key"]
    frame = frame.groupby("date_key", as_index=False).sum().sort_values("date_key", ignore_index=True)
    predicted, negatives = frame["tp"] + frame["fp"], frame["fp"] + frame["tn"]
    frame["precision"] = (frame["tp"] / predicted.where(predicted > 0)).astype(float)
    frame["false_positive_rate"] = (frame["fp"] / negatives.where(negatives > 0)).astype(float)
    return _with_day(frame)


def score_distribution(filters: Filters, model_version: str) -> pd.DataFrame:
    """Predictions per score bin (:data:`SCORE_BINS` equal-width bins on [0, 1]), split by label."""
    summary = prediction_summary(filters, model_version)
    frame = summary.groupby(["bin", "is_fraud"], as_index=False)["count"].sum()
    frame["score"] = frame["bin"].astype(float) / SCORE_BINS
    frame["label"] = frame["is_fraud"].map({True: "fraud", False: "legitimate"})
    return frame


# --- trends -----------------------------------------------------------------------------------
@_cached
def segment_trends(filters: Filters) -> pd.DataFrame:
    """Frauds per day in the high-risk segments: VPN, first-time customer-merchant pair, new device.

    "First-time" and "new" look at the whole history, not just the selected range.
    """
    where, params = filters.rollup_where()
    frame = _frame(
        "SELECT r.date_key, CAST(SUM(r.vpn_frauds) AS BIGINT), CAST(SUM(r.first_pair_frauds) AS BIGINT), "
        f"CAST(SUM(r.new_device_frauds) AS BIGINT) FROM rollup_frauds r WHERE {where} "
        "GROUP BY r.date_key ORDER BY 1",
        params,
        ["date_key", "VPN", "First-time customer-merchant pair", "New device"],
    )
    return _every_day(_with_day(frame), filters)


@_cached
def fraud_types(filters: Filters) -> pd.DataFrame:
    """Frauds per day and fraud type (``unlabelled`` for analyst-confirmed fraud without a type)."""
    where, params = filters.rollup_where()
    frame = _frame(
        "SELECT r.date_key, r.fraud_type, CAST(SUM(r.frauds) AS BIGINT) "
        f"FROM rollup_frauds r WHERE {where} GROUP BY 1, 2 ORDER BY 1, 2",
        params,
        ["date_key", "fraud_type", "frauds"],
    )
    return _with_day(frame)


# --- alert investigation ----------------------------------------------------------------------
ALERT_COLUMNS = (
    "alert_id",
    "claimed_at",
    "status",
    "transaction_id",
    "event_ts",
    "amount",
    "merchant",
    "score",
    "model_version",
    "analyst_label",
)


@_cached
def recent_alerts(filters: Filters, limit: int = 200) -> pd.DataFrame:
    """The newest alerts on transactions inside the filters, with score and analyst label.

    An alert is claimed after its transaction happened, so alerts claimed before the range
    (less a day for clock skew between card terminals and the alert Lambda) cannot match:
    skipping them keeps narrow filters from probing the facts for every alert ever raised.
    """
    where, params = filters.where()
    since = filters.bounds()[0] - timedelta(days=1)
    return _frame(
        "SELECT a.alert_id, a.claimed_at, a.status, a.transaction_id, f.event_ts, "
        "CAST(f.amount AS DOUBLE PRECISION), m.merchant_name, p.score, a.model_version, a.analyst_label "
        f"FROM fraud_alerts a JOIN {facts_from(dimensions=filters.active, aliases=('m',))} "
        "ON f.transaction_id = a.transaction_id "
        "LEFT JOIN fraud_predictions p "
        "ON p.transaction_id = a.transaction_id AND p.model_version = a.model_version "
        f"WHERE a.claimed_at >= %s AND {where} ORDER BY a.claimed_at DESC, a.alert_id DESC LIMIT %s",
        [since, *params, limit],
        ALERT_COLUMNS,
    )


@_cached
def transaction(transaction_id: str) -> dict[str, Any]:
    """One transaction with its dimension attributes (empty when it does not exist)."""
    columns = [
        "transaction_id",
        "event_ts",
        "amount",
        "currency",
        "channel",
        "entry_mode",
        "card_id",
        "customer_id",
        "card_type",
        "issuing_bank",
        "merchant_name",
        "merchant_category",
        "device_os",
        "ip_address",
        "ip_is_vpn",
        "city",
        "country",
        "lat",
        "lon",
        "is_fraud",
        "fraud_type",
        "analyst_label",
    ]
    frame = _frame(
        "SELECT f.transaction_id, f.event_ts, CAST(f.amount AS DOUBLE PRECISION), f.currency, f.channel, "
        "f.entry_mode, f.card_id, f.customer_id, c.card_type, c.issuing_bank, m.merchant_name, "
        "m.merchant_category, d.device_os, f.ip_address, f.ip_is_vpn, l.city, l.country, f.lat, f.lon, "
        f"f.is_fraud, f.fraud_type, f.analyst_label FROM {facts_from(aliases=('m', 'c', 'd', 'l'))} "
        "WHERE f.transaction_id = %s",
        [transaction_id],
        columns,
    )
    return {} if frame.empty else dict(frame.iloc[0])


@_cached
def card_history(card_id: str, until: datetime, limit: int = 20) -> pd.DataFrame:
    """The card's last ``limit`` transactions up to and including ``until``, newest first."""
    return _frame(
        "SELECT f.transaction_id, f.event_ts, CAST(f.amount AS DOUBLE PRECISION), m.merchant_name, l.city, "
        f"l.country, f.lat, f.lon, f.channel, {FRAUD} "
        f"FROM {facts_from(aliases=('m', 'l'))} WHERE f.card_id = %s AND f.event_ts <= %s "
        "ORDER BY f.event_ts DESC LIMIT %s",
        [card_id, until, limit],
        [
            "transaction_id",
            "event_ts",
            "amount",
            "merchant",
            "city",
            "country",
            "lat",
            "lon",
            "channel",
            "fraud",
        ],
    )


@_cached
def reason_codes(transaction_id: str, model_version: str | None) -> pd.DataFrame:
    """The prediction's reason codes (feature, contribution), largest effect first."""
    version_clause = "" if model_version is None else " AND p.model_version = %s"
    frame = _frame(
        f"SELECT p.reason_codes FROM fraud_predictions p WHERE p.transaction_id = %s{version_clause} "
        "ORDER BY p.scored_at DESC LIMIT 1",
        [transaction_id] if model_version is None else [transaction_id, model_version],
        ["reason_codes"],
    )
    raw = None if frame.empty else frame.iloc[0]["reason_codes"]
    codes = json.loads(raw) if isinstance(raw, str) else (raw or [])
    out = pd.DataFrame(codes, columns=["feature", "contribution"])
    out["contribution"] = out["contribution"].astype(float)
    return out.reindex(out["contribution"].abs().sort_values(ascending=False).index)


def label_alert(alert_id: int, label: AnalystLabel, feedback: str | None = None) -> None:
    """Store an analyst's verdict on the alert, on its transaction and in the label feed.

    The verdict is also a label event (``fact_labels``, source ``analyst``, known now): the
    feed that training and the delayed-label features read, beside the chargebacks. A changed
    verdict replaces the earlier one there, with the later time. All rows and the rollups of
    the transaction's day change in one warehouse transaction. Clears the query cache: the
    label changes what counts as fraud in every view.
    """
    labeled_at = datetime.now(UTC)
    with connect(load_settings()) as wh:
        updated = wh.execute(
            "UPDATE fraud_alerts SET analyst_label = %s, analyst_feedback = %s, labeled_at = %s "
            "WHERE alert_id = %s",
            (label, feedback or None, labeled_at, alert_id),
        )
        if updated != 1:
            raise FraudstackError(f"alert {alert_id} no longer exists; reload the page")
        (transaction_id,) = wh.query(
            "SELECT transaction_id FROM fraud_alerts WHERE alert_id = %s", (alert_id,)
        )[0]
        wh.upsert(
            "fact_labels",
            [(transaction_id, "analyst", label == "fraud", labeled_at)],
            columns=("transaction_id", "source", "is_fraud", "known_at"),
        )
        wh.execute(
            "UPDATE fact_transactions SET analyst_label = %s, analyst_labeled_at = %s "
            "WHERE transaction_id = (SELECT transaction_id FROM fraud_alerts WHERE alert_id = %s)",
            (label, labeled_at, alert_id),
        )
        day = wh.query(
            "SELECT f.date_key FROM fact_transactions f JOIN fraud_alerts a "
            "ON a.transaction_id = f.transaction_id WHERE a.alert_id = %s",
            (alert_id,),
        )
        rollups.refresh(wh, [int(key) for (key,) in day])
    st.cache_data.clear()


def partial_day(filters: Filters) -> datetime | None:
    """The newest transaction's time when its day lies in the range: that day is still partial."""
    newest = newest_event()
    if newest is None or not filters.start <= newest.date() <= filters.end:
        return None
    return newest


def _every_day(frame: pd.DataFrame, filters: Filters) -> pd.DataFrame:
    """One row per day of the range, zeros where nothing happened (a line must not skip days)."""
    if frame.empty:
        return frame
    days = pd.date_range(filters.start, filters.end, freq="D", name="day")
    out = frame.set_index("day").reindex(days, fill_value=0).reset_index()
    out["date_key"] = out["day"].dt.strftime("%Y%m%d").astype(int)
    return out


def _day(key: int) -> date:
    """The date of a ``YYYYMMDD`` key."""
    return date(key // 10000, key // 100 % 100, key % 100)


def _with_day(frame: pd.DataFrame) -> pd.DataFrame:
    """Add a ``day`` column from the ``YYYYMMDD`` date key (charts want dates)."""
    frame["day"] = pd.to_datetime(frame["date_key"].astype(str), format="%Y%m%d")
    return frame


# --- model health -----------------------------------------------------------------------------
@_cached
def model_drift(start: date, end: date) -> pd.DataFrame:
    """PSI per feature and of the score for each drift window ending in ``start .. end`` (UTC
    days, inclusive), oldest first, with the model version each window was measured against."""
    frame = _frame(
        "SELECT window_end, model_version, metric, kind, psi, status FROM model_drift "
        "WHERE window_end >= %s AND window_end < %s ORDER BY window_end, metric",
        (start, end + timedelta(days=1)),
        ["window_end", "model_version", "metric", "kind", "psi", "status"],
    )
    frame["window_end"] = pd.to_datetime(frame["window_end"], utc=True)
    frame["psi"] = frame["psi"].astype(float)
    return frame


@_cached
def model_performance(start: date, end: date) -> pd.DataFrame:
    """Each model version's delayed-label figures per day in ``start .. end`` (UTC, inclusive),
    as :mod:`fraudstack.model.performance` stores them: recall at the alert budget, average
    precision, flag precision, and whether the day is mature (its labels all in)."""
    names = ["day", "model_version", "recall_at_budget", "average_precision", "flag_precision", "mature"]
    frame = _frame(
        "SELECT window_start, model_version, recall_at_budget, average_precision, flag_precision, mature "
        "FROM model_performance WHERE window_start >= %s AND window_start < %s "
        "ORDER BY window_start, model_version",
        (start, end + timedelta(days=1)),
        names,
    )
    frame["day"] = pd.to_datetime(frame["day"], utc=True).dt.tz_localize(None)
    for column in ("recall_at_budget", "average_precision", "flag_precision"):
        frame[column] = frame[column].astype(float)
    return frame


def daily_precision_by_version(filters: Filters) -> pd.DataFrame:
    """Per day, each model version's precision against the labels that have arrived (wide: one
    column per version), from the same rollups as the performance view."""
    columns = {version: daily_performance(filters, version) for version in model_versions()}
    frames = [daily.set_index("day")["precision"].rename(version) for version, daily in columns.items()]
    if not frames:
        return pd.DataFrame(columns=["day"])
    return pd.concat(frames, axis=1).sort_index().rename_axis("day").reset_index()
