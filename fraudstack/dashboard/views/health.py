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
