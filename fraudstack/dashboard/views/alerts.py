"""Alert investigation: recent alerts, one alert's evidence, and the analyst's verdict."""

from __future__ import annotations

from typing import Any

import pandas as pd
import psycopg2
import streamlit as st

from fraudstack.dashboard import charts, geo, queries
from fraudstack.dashboard.queries import AnalystLabel
from fraudstack.dashboard.views import Context
from fraudstack.errors import FraudstackError

_VERDICTS: dict[AnalystLabel, str] = {"fraud": "confirmed fraud", "legitimate": "false positive"}


def _record_verdict(alert_id: int, label: AnalystLabel) -> None:
    """Button callback: runs before the rerun, so the page already shows the stored label."""
    feedback = st.session_state.get("feedback") or None
    try:
        queries.label_alert(alert_id, label, feedback)
    except (FraudstackError, psycopg2.Error) as exc:
        st.session_state["verdict_message"] = ("error", f"Could not store the label: {exc}")
        return
    st.session_state["verdict_message"] = ("success", f"Alert #{alert_id} marked {_VERDICTS[label]}.")


def _describe(alerts: pd.DataFrame) -> dict[int, str]:
    return {
        int(row.alert_id): f"#{row.alert_id} · {row.transaction_id} · {row.merchant} · {row.amount:,.2f}"
        for row in alerts.itertuples()
    }


def _details(txn: dict[str, Any]) -> pd.DataFrame:
    return pd.DataFrame({"field": list(txn), "value": ["" if v is None else str(v) for v in txn.values()]})


def _travel(txn: dict[str, Any], history: pd.DataFrame) -> None:
    st.subheader("Travel")
    if len(history) < 2:
        st.info("No earlier transaction on this card to measure travel from.")
        return
    path = geo.with_travel(history)
    path["role"] = ["alerted" if t == txn["transaction_id"] else "earlier" for t in path["transaction_id"]]
    last = path.iloc[-1]
    km, speed = last["km_from_previous"], last["speed_kmh"]
    left, right = st.columns(2)
    left.metric("Distance from previous use", f"{km:,.0f} km")
    right.metric("Implied speed", "n/a" if pd.isna(speed) else f"{speed:,.0f} km/h")
    if not pd.isna(speed) and speed > geo.IMPOSSIBLE_SPEED_KMH:
        st.warning(f"Impossible travel: faster than {geo.IMPOSSIBLE_SPEED_KMH:,.0f} km/h between card uses.")
    st.altair_chart(charts.travel_path(path), width="stretch")


def _verdict(alert: pd.Series) -> None:
    st.subheader("Verdict")
    if isinstance(alert["analyst_label"], str):
        st.markdown(f"Current verdict: **{_VERDICTS.get(alert['analyst_label'], alert['analyst_label'])}**")  # type: ignore[call-overload]
    st.text_input("Feedback (optional)", key="feedback")
    confirm, dismiss = st.columns(2)
    alert_id = int(alert["alert_id"])
    confirm.button("Confirm fraud", key="label_fraud", on_click=_record_verdict, args=(alert_id, "fraud"))
    dismiss.button(
        "Mark false positive", key="label_legit", on_click=_record_verdict, args=(alert_id, "legitimate")
    )
    message = st.session_state.pop("verdict_message", None)
    if message:
        (st.success if message[0] == "success" else st.error)(message[1])


def render(ctx: Context) -> None:
    st.header("Alert investigation")
    alerts = queries.recent_alerts(ctx.filters)
    if alerts.empty:
        st.info("No alerts on transactions in the selected time range and filters.")
        return
    st.dataframe(alerts, hide_index=True, height=240)
    labels = _describe(alerts)
    alert_id = st.selectbox("Alert to investigate", list(labels), format_func=labels.__getitem__, key="alert")
    alert = alerts.loc[alerts["alert_id"] == alert_id].iloc[0]
    txn = queries.transaction(str(alert["transaction_id"]))
    history = queries.card_history(str(txn["card_id"]), txn["event_ts"])
    left, right = st.columns(2)
    with left:
        st.subheader("Transaction")
        st.dataframe(_details(txn), hide_index=True, height=420)
    with right:
        st.subheader("Reason codes")
        codes = queries.reason_codes(str(alert["transaction_id"]), alert["model_version"])
        if codes.empty:
            st.info("This prediction carries no reason codes.")
        else:
            st.altair_chart(charts.reason_codes(codes), width="stretch")
        _verdict(alert)
    st.subheader("Card history")
    st.dataframe(history, hide_index=True)
    _travel(txn, history)
