"""Model health: drift of live traffic per feature and of the score, and precision, over time.

Why beside the performance view and not in it: performance judges one model version on the
labels that have arrived, which lag by days; drift needs no label and shows a change the day
it happens. Reading both on one time axis, with the model versions marked, shows whether a
drift was followed by a loss of precision and whether a retrain recovered it.
"""

from __future__ import annotations

import streamlit as st

from fraudstack.dashboard import charts, queries
from fraudstack.dashboard.views import Context
from fraudstack.model.drift import BROKEN_PSI


def render(ctx: Context) -> None:
    st.header("Model health")
    drift = queries.model_drift(ctx.filters.start, ctx.filters.end)
    if drift.empty:
        st.info(
            "No drift measured in this range: the pipeline's MeasureDrift step (hourly) or "
            "`fraudstack drift --since 24h` fills it once a model is current."
        )
    else:
        latest = drift[drift["window_end"] == drift["window_end"].max()]
        version = latest["model_version"].iloc[0]
        st.caption(
            f"PSI of each window against the training reference of the model current then; "
            f"from {BROKEN_PSI} a shift the model was not trained for. Latest window: "
            f"{latest['window_end'].iloc[0]:%Y-%m-%d %H:%M} UTC, model {version}."
        )
        st.subheader("Latest window, worst first")
        st.dataframe(
            latest.sort_values("psi", ascending=False)[["metric", "kind", "psi", "status"]],
            hide_index=True,
        )
        st.subheader("Feature drift over time")
        features = drift[drift["kind"] == "feature"]
        st.altair_chart(charts.drift_over_time(features, broken=BROKEN_PSI), width="stretch")
        st.subheader("Score drift over time")
        st.altair_chart(
            charts.drift_over_time(drift[drift["kind"] == "score"], broken=BROKEN_PSI), width="stretch"
        )
    _delayed_labels(ctx)
    st.subheader("Precision per day, by model version")
    precision = queries.daily_precision_by_version(ctx.filters)
    versions = [c for c in precision.columns if c != "day"]
    if not versions or precision.empty:
        st.info("No scored transactions match the selected time range and filters.")
        return
    st.altair_chart(
        charts.daily_lines(precision, versions, name="model version", value="precision", percent=True),
        width="stretch",
    )


#: The stored figures charted per day (column, axis title).
_DELAYED = (("recall_at_budget", "recall at budget"), ("average_precision", "average precision"))


def _delayed_labels(ctx: Context) -> None:
    """Recall at the alert budget and AP per day and model version, as the labels arrive."""
    figures = queries.model_performance(ctx.filters.start, ctx.filters.end)
    st.subheader("Recall at the alert budget and average precision per day, by model version")
    if figures.empty:
        st.info(
            "No delayed-label figures in this range: the pipeline's last step stores them "
            "(model_performance) once a model's predictions and their labels are loaded."
        )
        return
    young = figures.loc[~figures["mature"].astype(bool), "day"]
    st.caption(
        "A fraud counts once its verdict was known within 7 days of the transaction; "
        + (
            f"days from {young.min():%Y-%m-%d} are younger than that and still rising as labels arrive."
            if len(young)
            else "every day shown is final."
        )
    )
    for value, title in _DELAYED:
        wide = figures.pivot_table(index="day", columns="model_version", values=value, aggfunc="first")
        versions = [str(c) for c in wide.columns]
        wide.columns = versions
        frame = wide.rename_axis("day").reset_index()
        chart = charts.daily_lines(frame, versions, name="model version", value=title, percent=True)
        st.altair_chart(chart, width="stretch")
