"""Distances between a card's transactions, for the travel view of an alert.

Why here and not in SQL: the card history is at most a few dozen rows, and great-circle
distance is the same on PostgreSQL and Redshift only if computed outside them.
"""

from __future__ import annotations

import math

import pandas as pd

EARTH_RADIUS_KM = 6371.0088
#: Faster than an airliner between two card uses: the "impossible travel" pattern.
IMPOSSIBLE_SPEED_KMH = 900.0


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in kilometres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(a))


def with_travel(history: pd.DataFrame) -> pd.DataFrame:
    """The history oldest first, with distance, hours and implied speed from the previous use."""
    out = history.sort_values("event_ts").reset_index(drop=True)
    km: list[float | None] = [None]
    hours: list[float | None] = [None]
    for prev, cur in zip(out.iloc[:-1].itertuples(), out.iloc[1:].itertuples(), strict=True):
        km.append(round(haversine_km(prev.lat, prev.lon, cur.lat, cur.lon), 1))
        hours.append((cur.event_ts - prev.event_ts).total_seconds() / 3600)
    out["km_from_previous"] = km
    out["hours_from_previous"] = hours
    speed = out["km_from_previous"] / out["hours_from_previous"].where(out["hours_from_previous"] > 0)
    out["speed_kmh"] = speed.astype(float).round(0)
    return out
