"""Model performance over time: precision and false-positive rate per day, scores, the model."""

from __future__ import annotations

import streamlit as st

from fraudstack.dashboard import charts, queries
from fraudstack.dashboard.model_info import current_model
from fraudstack.dashboard.views import Context


def _model_card() -> None:
    info = current_model()
    st.subheader("Current model")
    if info.version is None:
        st.info(info.problem or "No model information.")
        return
    st.markdown(f"**Version** `{info.version}`")
    if info.metrics:
        st.dataframe(
            {"metric": list(info.metrics), "value": [str(v) for v in info.metrics.values()]}, hide_index=True
        )
    if info.report:
        with st.expander("Evaluation report"):
            st.markdown(info.report)
    else:
        st.caption("This version has no published report.")


def render(ctx: Context) -> None:
    st.header("Model performance")
    if ctx.model_version is None:
        st.info("No predictions in the warehouse yet: performance appears once the model has scored.")
        _model_card()
        return
    st.caption(
        f"Predictions of model version {ctx.model_version}; a prediction is flagged when its decision is "
        f"not '{queries.APPROVE}', and judged against the labels that have arrived."
    )
    daily = queries.daily_performance(ctx.filters, ctx.model_version)
    if daily.empty:
        st.info("No scored transactions match the selected time range and filters.")
    else:
        totals = daily[["tp", "fp", "tn", "fn"]].sum()
        flagged, negatives = totals["tp"] + totals["fp"], totals["fp"] + totals["tn"]
        left, right = st.columns(2)
        left.metric("Precision (range)", f"{totals['tp'] / flagged:.2%}" if flagged else "n/a")
        right.metric("False-positive rate (range)", f"{totals['fp'] / negatives:.2%}" if negatives else "n/a")
        st.subheader("Precision and false-positive rate per day")
        st.altair_chart(
            charts.daily_lines(
                daily, ["precision", "false_positive_rate"], name="metric", value="rate", percent=True
            ),
            width="stretch",
        )
        st.subheader("Score distribution")
        scores = queries.score_distribution(ctx.filters, ctx.model_version)
        st.altair_chart(charts.score_histogram(scores, bin_width=1 / queries.SCORE_BINS), width="stretch")
    _model_card()
