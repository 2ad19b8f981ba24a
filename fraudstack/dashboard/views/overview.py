"""Headline KPIs with their change versus the previous period of the same length."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import pandas as pd
import streamlit as st

from fraudstack.dashboard import charts, queries
from fraudstack.dashboard.views import Context


@dataclass(frozen=True)
class Kpi:
    """One headline figure as shown: formatted value, formatted change, and whether up is bad."""

    label: str
    value: str
    delta: str | None
    up_is_bad: bool = False


def _relative(current: float, previous: float) -> str | None:
    """Change in percent; None when there is nothing to compare with."""
    if previous == 0:
        return None
    return f"{(current - previous) / previous:+.1%}"


def _rate(row: pd.Series) -> float:
    return float(row["frauds"]) / float(row["count"]) if row["count"] else 0.0


def headline(current: pd.Series, previous: pd.Series) -> list[Kpi]:
    """The five KPIs from the current and previous period rows of :func:`queries.kpis`."""
    rate, previous_rate = _rate(current), _rate(previous)
    has_previous = bool(previous["count"])
    return [
        Kpi("Transaction value", f"{current['value']:,.2f}", _relative(current["value"], previous["value"])),
        Kpi("Transactions", f"{int(current['count']):,}", _relative(current["count"], previous["count"])),
        Kpi(
            "Fraud rate",
            f"{rate:.2%}",
            f"{(rate - previous_rate) * 100:+.2f} pp" if has_previous else None,
            up_is_bad=True,
        ),
        Kpi(
            "Fraud loss",
            f"{current['fraud_loss']:,.2f}",
            _relative(current["fraud_loss"], previous["fraud_loss"]),
            up_is_bad=True,
        ),
        Kpi(
            "Alerts sent",
            f"{int(current['alerts_sent']):,}",
            _relative(current["alerts_sent"], previous["alerts_sent"]),
        ),
    ]


def render(ctx: Context) -> None:
    st.header("Overview")
    frame = queries.kpis(ctx.filters)
    previous = ctx.filters.previous()
    for column, kpi in zip(st.columns(5), headline(frame.loc["current"], frame.loc["previous"]), strict=True):
        column.metric(kpi.label, kpi.value, kpi.delta, delta_color="inverse" if kpi.up_is_bad else "normal")
    st.caption(
        f"Change versus {previous.start:%Y-%m-%d} to {previous.end:%Y-%m-%d}. Amounts are in transaction "
        "currency; fraud is the label, or the analyst's verdict where one was given."
    )
    daily = queries.daily_volume(ctx.filters)
    if daily.empty:
        st.info("No transactions match the selected time range and filters.")
        return
    st.subheader("Transactions and frauds per day")
    partial = queries.partial_day(ctx.filters)
    st.altair_chart(
        charts.daily_lines(
            daily,
            ["transactions", "frauds"],
            name="series",
            value="count",
            partial_day=None if partial is None else partial.date(),
        ),
        width="stretch",
    )
    if partial is not None:
        st.caption(partial_caption(partial))


def partial_caption(newest: datetime) -> str:
    """Why the last point is hollow: its day holds only the events loaded so far."""
    return (
        f"{newest:%Y-%m-%d} is partial (hollow point, dashed line): transactions up to "
        f"{newest:%H:%M} UTC are loaded so far."
    )
