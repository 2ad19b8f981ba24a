"""The batch form of the features: vectorised numpy over a whole frame of transactions.

Why: training and the Glue inference job see many transactions at once and need them fast
(about a second per million rows), but must produce exactly what the streaming scorer's
online form (:class:`fraudstack.features.online.OnlineFeatures`) computes one event at a
time. Both follow :mod:`fraudstack.features.definitions`; the arithmetic mirrors the online
code step by step (integer cents and microseconds, the same float operations) so the two
agree to the last bit except for ``sin``/``cos`` rounding in the distance.

How "strictly the past" is vectorised: rows are sorted by (card, time). For each row,
``end`` is the first row of its tie block (same card, same time), so the past is the rows
``[group_start, end)``; a window ``[t - w, t)`` starts at the first row of the card with
time ``>= t - w``, found by one merged sort of rows and window starts (:func:`_search_left`).
"""

from __future__ import annotations

from collections.abc import Collection

import numpy as np
import pandas as pd

from fraudstack.features.definitions import (
    CHANNEL_CODES,
    DAY,
    DEFAULT_LABEL_DELAY,
    DEGREES_PER_HOUR,
    EARTH_RADIUS_KM,
    ENTITIES,
    ENTITY_FEATURES,
    ENTITY_HISTORY_CAP,
    ENTITY_WINDOWS,
    ENTRY_MODE_CODES,
    HISTORY_CAP,
    HOUR,
    KEY,
    LABEL_WINDOWS,
    LABELS,
    LOOKBACK,
    MCC_RISK,
    MICROS_PER_SECOND,
    MIN_SPEED_GAP_SECONDS,
    NEW_CARD_HORIZON,
    NEW_CARD_WINDOWS,
    WINDOWS,
    available_features,
)

_I64 = np.int64
#: "Never" for a transaction with no known fraud label; "no floor" for an uncapped window.
_NEVER = np.iinfo(_I64).max // 2
_NO_FLOOR = np.iinfo(_I64).min // 2


def event_micros(values: pd.Series) -> np.ndarray:
    """Event times (datetimes, aware or UTC strings) -> int64 epoch microseconds."""
    times = pd.to_datetime(values, utc=True, format="ISO8601")
    return times.dt.tz_convert(None).to_numpy().astype("datetime64[us]").astype(_I64)


def cents(values: pd.Series) -> np.ndarray:
    """Amounts (Decimal objects, floats or numeric strings) -> int64 cents."""
    return np.round(values.astype(float).to_numpy() * 100).astype(_I64)


def _group_starts(new_block: np.ndarray) -> np.ndarray:
    """For each row, the index of the first row of its block (``new_block`` marks starts)."""
    idx = np.arange(len(new_block), dtype=_I64)
    return np.maximum.accumulate(np.where(new_block, idx, 0))


def _changed(values: np.ndarray) -> np.ndarray:
    out = np.ones(len(values), dtype=bool)
    out[1:] = values[1:] != values[:-1]
    return out


def _search_left(
    keys: np.ndarray, times: np.ndarray, query_times: np.ndarray, query_keys: np.ndarray | None = None
) -> np.ndarray:
    """Per query i: first index j with ``(keys[j], times[j]) >= (query_keys[i], query_times[i])``.

    ``keys``/``times`` are sorted lexicographically; ``query_keys`` defaults to ``keys`` (one
    query per row). One stable merged sort of rows and queries (queries first on ties, so a row
    at exactly the query time counts as inside the window).
    """
    n = len(keys)
    query_keys = keys if query_keys is None else query_keys
    m = len(query_keys)
    merged_keys = np.concatenate([keys, query_keys])
    merged_times = np.concatenate([times, query_times])
    is_row = np.concatenate([np.ones(n, dtype=_I64), np.zeros(m, dtype=_I64)])
    order = np.lexsort((is_row, merged_times, merged_keys))
    rows_sorted = is_row[order]
    rows_before = np.cumsum(rows_sorted) - rows_sorted
    found = np.empty(m, dtype=_I64)
    queries = order >= n
    found[order[queries] - n] = rows_before[queries]
    return found


def _haversine_km(lat1: np.ndarray, lon1: np.ndarray, lat2: np.ndarray, lon2: np.ndarray) -> np.ndarray:
    p1 = np.radians(lat1)
    p2 = np.radians(lat2)
    dp = p2 - p1
    dl = np.radians(lon2) - np.radians(lon1)
    a = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.minimum(a, 1.0)))


def _is_new(keys: np.ndarray, values: pd.Series, times: np.ndarray, horizon: int = LOOKBACK) -> np.ndarray:
    """1.0 if the card did not use ``values[i]`` strictly before ``times[i]`` within ``horizon``."""
    present = values.notna().to_numpy()
    out = np.full(len(keys), np.nan)
    rows = np.flatnonzero(present)
    if not len(rows):
        return out
    codes, _ = pd.factorize(values.to_numpy()[rows])
    k, t = keys[rows], times[rows]
    order = np.lexsort((t, codes, k))
    k, c, t = k[order], codes[order], t[order]
    pair_new = _changed(k) | _changed(c)
    pair_start = _group_starts(pair_new)
    block_start = _group_starts(pair_new | _changed(t))
    has_before = block_start > pair_start
    gap = t - t[np.maximum(block_start - 1, 0)]
    seen = has_before & (gap <= horizon)
    out[rows[order]] = np.where(seen, 0.0, 1.0)
    return out


def _codes(values: pd.Series, table: dict[str, int]) -> np.ndarray:
    return values.map(table).astype(float).to_numpy()


def compute_features(
    frame: pd.DataFrame, labels: pd.DataFrame | None = None, entities: Collection[str] = tuple(ENTITIES)
) -> pd.DataFrame:
    """Features of every row of ``frame`` (schema columns; its label columns are never read).

    ``labels`` (``transaction_id``, ``is_fraud``, ``known_at``: label events, see
    :func:`label_events`) gives the delayed-label features; without it they are absent.
    ``entities`` limits the entity profiles computed (the inference job computes each
    entity's apart, on that entity's history). Returns a float64 frame with the input's index
    and one column per feature whose input columns ``frame`` has, in definition order. Rows
    need not be sorted.
    """
    columns = set(frame.columns) | ({LABELS} if labels is not None else set())
    skipped = {f.name for entity in ENTITIES if entity not in entities for f in ENTITY_FEATURES[entity]}
    names = tuple(name for name in available_features(frozenset(columns)) if name not in skipped)
    out: dict[str, np.ndarray] = {}
    t_in = event_micros(frame["event_time"]) if "event_time" in frame else None
    if "amount" in names:
        cents_in = cents(frame["amount"])
        out["amount"] = cents_in / 100
    if t_in is not None:
        lon = frame["lon"].astype(float).to_numpy() if "lon" in frame else np.full(len(frame), np.nan)
        offset = np.where(np.isnan(lon), 0, np.round(lon / DEGREES_PER_HOUR)).astype(_I64) * HOUR
        local = t_in + offset  # solar local time; UTC where the longitude is unknown
        out["hour"] = ((local // HOUR) % 24).astype(float)
        out["weekday"] = ((local // DAY + 3) % 7).astype(float)  # 1970-01-01 was a Thursday
    if "account_age_days" in names:
        created = pd.to_datetime(frame["customer_account_created"], utc=True, format="ISO8601")
        created_us = created.dt.tz_convert(None).to_numpy().astype("datetime64[us]").astype(_I64)
        out["account_age_days"] = (t_in - created_us) / DAY
    if "seconds_since_prev" in names:
        out.update(_history(frame, t_in, cents_in, names))
    if "is_vpn" in names:
        vpn = frame["ip_is_vpn"]
        out["is_vpn"] = vpn.map({True: 1.0, False: 0.0}).astype(float).to_numpy()
    if "mcc" in names:
        mcc = frame["merchant_category_code"]
        out["mcc"] = pd.to_numeric(mcc, errors="coerce").astype(float).to_numpy()
        out["merchant_risk"] = np.where(mcc.isna(), np.nan, mcc.map(MCC_RISK).fillna(0).astype(float))
    if "channel" in names:
        out["channel"] = _codes(frame["channel"], CHANNEL_CODES)
    if "entry_mode" in names:
        out["entry_mode"] = _codes(frame["entry_mode"], ENTRY_MODE_CODES)
    known = _fraud_known_at(frame, labels) if labels is not None else None
    for entity, column in ENTITIES.items():
        if f"{entity}_n_1h" in names:
            assert t_in is not None
            out.update(_entity_profile(entity, frame[column], frame[KEY], t_in, cents_in, known))
    return pd.DataFrame({name: out[name] for name in names}, index=frame.index)


def _history(
    frame: pd.DataFrame, t_in: np.ndarray | None, cents_in: np.ndarray, names: tuple[str, ...]
) -> dict[str, np.ndarray]:
    """The per-card history features, computed in (card, time) order and returned in input order."""
    assert t_in is not None
    key_codes, _ = pd.factorize(frame[KEY].to_numpy())
    order = np.lexsort((t_in, key_codes))
    k, t, amt = key_codes[order], t_in[order], cents_in[order]
    n = len(k)
    group_new = _changed(k)
    start = _group_starts(group_new)
    end = _group_starts(group_new | _changed(t))  # past = rows [start, end)
    cum = np.concatenate([[0], np.cumsum(amt)]).astype(_I64)
    prev = np.maximum(end - 1, 0)
    has_prev = (end > start) & (t - t[prev] <= LOOKBACK)

    res: dict[str, np.ndarray] = {}
    gap = np.where(has_prev, (t - t[prev]) / MICROS_PER_SECOND, np.nan)
    res["seconds_since_prev"] = gap
    floor = end - HISTORY_CAP
    sum_7d = count_7d = None
    for suffix, length in WINDOWS.items():
        lo = np.maximum(_search_left(k, t, t - length), floor)
        count = end - lo
        total = cum[end] - cum[lo]
        res[f"n_{suffix}"] = count.astype(float)
        res[f"sum_{suffix}"] = total / 100
        sum_7d, count_7d = total, count
    assert sum_7d is not None and count_7d is not None
    with np.errstate(divide="ignore", invalid="ignore"):
        res["amount_to_mean_7d"] = np.where(sum_7d != 0, (amt * count_7d) / sum_7d, np.nan)
    if "dist_prev_km" in names:
        lat = frame["lat"].astype(float).to_numpy()[order]
        lon = frame["lon"].astype(float).to_numpy()[order]
        dist = np.where(has_prev, _haversine_km(lat[prev], lon[prev], lat, lon), np.nan)
        res["dist_prev_km"] = dist
        res["speed_prev_kmh"] = dist / np.maximum(gap, MIN_SPEED_GAP_SECONDS) * 3600
    if "country_changed" in names:
        country = frame["country"].to_numpy()[order]
        known = has_prev & pd.notna(country) & pd.notna(country[prev])
        res["country_changed"] = np.where(known, (country != country[prev]).astype(float), np.nan)
    for feature, column in (
        ("new_device", "device_id"),
        ("new_ip", "ip_address"),
        ("new_merchant", "merchant_id"),
    ):
        if feature in names:
            res[feature] = _is_new(k, frame[column].iloc[order].reset_index(drop=True), t)
    inverse = np.empty(n, dtype=_I64)
    inverse[order] = np.arange(n, dtype=_I64)
    return {name: values[inverse] for name, values in res.items()}


def label_events(frame: pd.DataFrame, delay: int = DEFAULT_LABEL_DELAY) -> pd.DataFrame:
    """Label events of labelled transactions whose data has no ``known_at``: each known ``delay`` later.

    What bring-your-own data with only an ``is_fraud`` column (and the simulator without its
    label stream) gives the delayed-label features.
    """
    times = pd.to_datetime(frame["event_time"], utc=True, format="ISO8601")
    return pd.DataFrame(
        {
            "transaction_id": frame["transaction_id"].to_numpy(),
            "is_fraud": frame["is_fraud"].astype(bool).to_numpy(),
            "known_at": (times + pd.Timedelta(microseconds=delay)).to_numpy(),
        }
    )


def _fraud_known_at(frame: pd.DataFrame, labels: pd.DataFrame) -> np.ndarray:
    """Per row: epoch micros of its earliest fraud label, else :data:`_NEVER` (genuine verdicts: none)."""
    frauds = labels[labels["is_fraud"].astype(bool).to_numpy()]
    earliest = pd.Series(event_micros(frauds["known_at"]), index=frauds["transaction_id"].to_numpy())
    earliest = earliest.groupby(level=0).min()
    found = earliest.reindex(frame["transaction_id"].to_numpy()).to_numpy()
    return np.where(np.isnan(found), _NEVER, found).astype(_I64)


def _entity_profile(
    entity: str,
    ids: pd.Series,
    cards: pd.Series,
    t_in: np.ndarray,
    cents_in: np.ndarray,
    known_in: np.ndarray | None,
) -> dict[str, np.ndarray]:
    """One entity's profile features per row (NaN where the row has no such entity), in input order.

    Rows go in (entity, time) order; the past of a row is ``[start, end)`` as for cards. The
    cap keeps the :data:`ENTITY_HISTORY_CAP` most recent events and every event tied with the
    oldest of them: a window starts at ``max(t - w, floor)``, ``floor`` the time of that event.
    A known fraud ``j`` counts for the later rows ``q`` of its entity with ``t_q > t_j``,
    ``t_q > known_j``, ``t_q <= t_j + w`` and ``floor_q <= t_j``: one contiguous run of rows,
    so a difference array counts them all in one pass.
    """
    present = np.flatnonzero(ids.notna().to_numpy())
    n_all = len(ids)
    res: dict[str, np.ndarray] = {}
    codes, _ = pd.factorize(ids.to_numpy()[present])
    order = np.lexsort((t_in[present], codes))
    rows = present[order]
    k, t, amt = codes[order], t_in[rows], cents_in[rows]
    n = len(k)
    group_new = _changed(k)
    start = _group_starts(group_new)
    end = _group_starts(group_new | _changed(t))
    cum = np.concatenate([[0], np.cumsum(amt)]).astype(_I64)
    fresh = _is_new(k, cards.iloc[rows].reset_index(drop=True), t, NEW_CARD_HORIZON).astype(_I64)
    cum_new = np.concatenate([[0], np.cumsum(fresh)]).astype(_I64)
    capped = end - ENTITY_HISTORY_CAP
    floor = np.where(capped > start, t[np.maximum(capped, 0)], _NO_FLOOR)

    def window(length: int) -> np.ndarray:
        return _search_left(k, t, np.maximum(t - length, floor))

    for suffix, length in ENTITY_WINDOWS.items():
        lo = window(length)
        res[f"{entity}_n_{suffix}"] = (end - lo).astype(float)
        if suffix == "24h":
            res[f"{entity}_sum_24h"] = (cum[end] - cum[lo]) / 100
        if suffix in NEW_CARD_WINDOWS:
            res[f"{entity}_new_cards_{suffix}"] = (cum_new[end] - cum_new[lo]).astype(float)
    if known_in is not None:
        known = known_in[rows]
        frauds = np.flatnonzero(known < _NEVER)
        fk, ft = k[frauds], t[frauds]
        first = _search_left(k, t, np.maximum(ft, known[frauds]) + 1, fk)
        past_floor = _search_left(k, floor, ft + 1, fk)
        for suffix, length in LABEL_WINDOWS.items():
            last = np.minimum(_search_left(k, t, ft + length + 1, fk), past_floor)
            runs = first < last
            diff = np.zeros(n + 1, dtype=_I64)
            np.add.at(diff, first[runs], 1)
            np.add.at(diff, last[runs], -1)
            count = np.cumsum(diff[:n]).astype(float)
            total = (end - window(length)).astype(float)
            res[f"{entity}_frauds_{suffix}"] = count
            with np.errstate(divide="ignore", invalid="ignore"):
                res[f"{entity}_fraud_rate_{suffix}"] = np.where(total > 0, count / total, np.nan)
    out = {}
    for name, values in res.items():
        column = np.full(n_all, np.nan)
        column[rows] = values
        out[name] = column
    return out
