"""Altair chart builders: DataFrames from :mod:`.queries` in, charts out.

Why separate from the views: the charts are pure functions of their data, so a view stays
a list of "query, then chart" steps and the encodings are defined once.
"""

from __future__ import annotations

from datetime import date

import altair as alt
import pandas as pd

_DAY = alt.X("day:T", title="day (UTC)")


def _long(frame: pd.DataFrame, columns: list[str], name: str, value: str) -> pd.DataFrame:
    """Wide daily columns -> long rows (one series per column) for a colour encoding."""
    return frame.melt(id_vars=["day"], value_vars=columns, var_name=name, value_name=value)


def daily_lines(
    frame: pd.DataFrame,
    columns: list[str],
    *,
    name: str,
    value: str,
    percent: bool = False,
    partial_day: date | None = None,
) -> alt.LayerChart:
    """One line per column over days (days without a value, e.g. no flags for precision, are gaps).

    Counts and rates are never negative, so the y scale starts at 0 and clamps there, and the
    lines join the points straight (a smoothing interpolation overshoots below zero where a
    series drops to 0). ``partial_day``, the day still filling with events, is drawn hollow
    and joined with a dashed segment, so its drop does not read as a fall in activity.
    """
    axis = alt.Axis(format="%") if percent else alt.Axis()
    data = _long(frame, columns, name, value)
    partial = pd.Timestamp(partial_day) if partial_day is not None else None
    data["partial"] = data["day"] == partial if partial is not None else False
    encoding = (
        _DAY,
        alt.Y(f"{value}:Q", axis=axis, scale=alt.Scale(domainMin=0, clamp=True)),
        alt.Color(f"{name}:N", legend=alt.Legend(labelLimit=280)),
    )
    tooltip = [
        "day:T",
        f"{name}:N",
        alt.Tooltip(f"{value}:Q", format=".2%" if percent else ","),
        alt.Tooltip("partial:N", title="partial day"),
    ]
    complete = data.loc[~data["partial"]]
    layers: list[alt.Chart] = [
        alt.Chart(complete).mark_line(interpolate="linear").encode(*encoding),
        alt.Chart(data)
        .mark_point(size=40)
        .encode(
            *encoding,
            alt.Fill(f"{name}:N", legend=None),
            alt.FillOpacity(
                "partial:N", legend=None, scale=alt.Scale(domain=[False, True], range=[1.0, 0.0])
            ),
            tooltip=tooltip,
        ),
    ]
    if partial is not None and data["partial"].any():
        last_two = data.loc[data["day"] >= complete["day"].max()] if not complete.empty else data
        layers.insert(
            1, alt.Chart(last_two).mark_line(interpolate="linear", strokeDash=[4, 4]).encode(*encoding)
        )
    return alt.LayerChart(layer=layers)


def donut(frame: pd.DataFrame, *, category: str, value: str) -> alt.Chart:
    """A donut of ``value`` per ``category`` (the decision split)."""
    return (
        alt.Chart(frame)
        .mark_arc(innerRadius=60)
        .encode(
            alt.Theta(f"{value}:Q"),
            alt.Color(f"{category}:N"),
            tooltip=[f"{category}:N", f"{value}:Q"],
        )
    )


def bars(frame: pd.DataFrame, *, category: str, value: str, title: str, percent: bool = False) -> alt.Chart:
    """Horizontal bars of ``value`` per ``category``, largest first."""
    axis = alt.Axis(format="%") if percent else alt.Axis()
    return (
        alt.Chart(frame, title=title)
        .mark_bar()
        .encode(
            alt.Y(f"{category}:N", sort="-x", title=None),
            alt.X(f"{value}:Q", axis=axis, title=None),
            tooltip=[f"{category}:N", alt.Tooltip(f"{value}:Q", format=".2%" if percent else ",")],
        )
    )


def score_histogram(frame: pd.DataFrame, *, bin_width: float) -> alt.Chart:
    """Predictions per score bin, stacked by label; symlog y so the rare fraud bars show."""
    return (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            alt.X("score:Q", bin=alt.Bin(step=bin_width, extent=[0, 1]), title="score"),
            alt.Y("sum(count):Q", scale=alt.Scale(type="symlog"), title="predictions"),
            alt.Color("label:N"),
            tooltip=["score:Q", "label:N", "count:Q"],
        )
    )


def stacked_daily(frame: pd.DataFrame, *, category: str, value: str) -> alt.Chart:
    """Stacked bars per day (frauds by fraud type); days as bands so bars have a width."""
    return (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            alt.X("yearmonthdate(day):O", title="day (UTC)", axis=alt.Axis(format="%b %d", labelAngle=-45)),
            alt.Y(f"sum({value}):Q", title=value),
            alt.Color(f"{category}:N"),
            tooltip=["day:T", f"{category}:N", f"{value}:Q"],
        )
    )


def reason_codes(frame: pd.DataFrame) -> alt.Chart:
    """Each feature's contribution to the score: red pushes towards fraud, green away."""
    return (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            alt.Y(
                "feature:N",
                sort=alt.EncodingSortField("contribution", op="max", order="descending"),
                axis=alt.Axis(labelLimit=240),
            ),
            alt.X("contribution:Q"),
            alt.Color(
                "direction:N",
                scale=alt.Scale(domain=["towards fraud", "away from fraud"], range=["#d62728", "#2ca02c"]),
            ),
            tooltip=["feature:N", alt.Tooltip("contribution:Q", format=".3f")],
        )
        .transform_calculate(direction="datum.contribution >= 0 ? 'towards fraud' : 'away from fraud'")
    )


def travel_path(history: pd.DataFrame) -> alt.LayerChart:
    """The card's recent locations (lon/lat) joined in time order; the alerted one is marked."""
    base = alt.Chart(history).encode(
        alt.X("lon:Q", title="longitude", scale=alt.Scale(zero=False)),
        alt.Y("lat:Q", title="latitude", scale=alt.Scale(zero=False)),
    )
    path = base.mark_line(strokeDash=[4, 3]).encode(order="event_ts:T")
    points = base.mark_circle(size=120).encode(
        alt.Color("role:N", scale=alt.Scale(domain=["alerted", "earlier"], range=["#d62728", "#1f77b4"])),
        tooltip=["event_ts:T", "city:N", "country:N", "amount:Q", "km_from_previous:Q"],
    )
    labels = base.mark_text(dy=-12).encode(text="city:N")
    return alt.LayerChart(layer=[path, points, labels])


def drift_over_time(frame: pd.DataFrame, *, broken: float) -> alt.LayerChart:
    """PSI per metric over drift windows, a rule at the ``broken`` threshold, and a dashed rule
    labelled with the version where the model measured against changes."""
    lines = (
        alt.Chart(frame)
        .mark_line(point=True)
        .encode(
            alt.X("window_end:T", title="window end (UTC)"),
            alt.Y("psi:Q", title="PSI", scale=alt.Scale(domainMin=0)),
            alt.Color("metric:N", legend=alt.Legend(labelLimit=280)),
            tooltip=[
                "window_end:T",
                "metric:N",
                "model_version:N",
                alt.Tooltip("psi:Q", format=".4f"),
                "status:N",
            ],
        )
    )
    threshold = (
        alt.Chart(pd.DataFrame({"psi": [broken]})).mark_rule(color="red", strokeDash=[2, 2]).encode(y="psi:Q")
    )
    firsts = frame.drop_duplicates("model_version")[["window_end", "model_version"]]
    versions = alt.Chart(firsts).mark_rule(strokeDash=[6, 3], color="gray").encode(x="window_end:T")
    names = (
        alt.Chart(firsts)
        .mark_text(align="left", dx=4, dy=-4, color="gray")
        .encode(x="window_end:T", y=alt.value(0), text="model_version:N")
    )
    return lines + threshold + versions + names
