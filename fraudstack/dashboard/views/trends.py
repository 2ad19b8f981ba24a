"""Trends: fraud volume in high-risk segments and by fraud type over time."""

from __future__ import annotations

import streamlit as st

from fraudstack.dashboard import charts, queries
from fraudstack.dashboard.views import Context
from fraudstack.dashboard.views.overview import partial_caption

SEGMENTS = ["VPN", "First-time customer-merchant pair", "New device"]


def render(ctx: Context) -> None:
    st.header("Trends")
    segments = queries.segment_trends(ctx.filters)
    if segments.empty:
        st.info("No frauds match the selected time range and filters.")
        return
    st.subheader("Frauds in high-risk segments per day")
    st.caption(
        "A fraud can sit in several segments; 'first-time' and 'new' look at the card's whole history."
    )
    partial = queries.partial_day(ctx.filters)
    st.altair_chart(
        charts.daily_lines(
            segments,
            SEGMENTS,
            name="segment",
            value="frauds",
            partial_day=None if partial is None else partial.date(),
        ),
        width="stretch",
    )
    if partial is not None:
        st.caption(partial_caption(partial))
    st.subheader("Frauds by type per day")
    st.altair_chart(
        charts.stacked_daily(queries.fraud_types(ctx.filters), category="fraud_type", value="frauds"),
        width="stretch",
    )
