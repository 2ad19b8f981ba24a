"""Operational views: the decision split and fraud by a selectable dimension."""

from __future__ import annotations

import streamlit as st

from fraudstack.dashboard import charts, queries
from fraudstack.dashboard.filters import DIMENSIONS
from fraudstack.dashboard.views import Context


def render(ctx: Context) -> None:
    st.header("Operations")
    left, right = st.columns([2, 3])
    with left:
        st.subheader("Decisions")
        if ctx.model_version is None:
            st.info(
                "No predictions in the warehouse yet: the decision split appears once the model has scored."
            )
        else:
            split = queries.decisions(ctx.filters, ctx.model_version)
            if split.empty:
                st.info("No scored transactions match the selected time range and filters.")
            else:
                st.altair_chart(charts.donut(split, category="decision", value="count"), width="stretch")
                st.caption(f"Model version {ctx.model_version}")
    with right:
        dimension = st.selectbox("Break fraud down by", list(DIMENSIONS), key="breakdown")
        frame = queries.fraud_by_dimension(ctx.filters, dimension)
        if frame.empty:
            st.info("No transactions match the selected time range and filters.")
            return
        counts, rates = st.columns(2)
        counts.altair_chart(
            charts.bars(frame, category="value", value="frauds", title=f"Frauds by {dimension.lower()}"),
            width="stretch",
        )
        rates.altair_chart(
            charts.bars(
                frame,
                category="value",
                value="fraud_rate",
                title=f"Fraud rate by {dimension.lower()}",
                percent=True,
            ),
            width="stretch",
        )
        st.dataframe(
            frame.rename(columns={"value": dimension}),
            hide_index=True,
            column_config={"fraud_rate": st.column_config.NumberColumn("fraud rate", format="percent")},
        )
