"""The online form of the features: per-card state updated one event at a time.

Why: the streaming scorer decides on each transaction as it arrives, so it cannot re-read
history; it holds a :class:`OnlineFeatures` per partition (cards are partition keys) and
calls :meth:`OnlineFeatures.update` for every event. The values equal the batch form
(:func:`fraudstack.features.batch.compute_features`) for the same events; a test holds the
two together.

Cost per event is O(log n) in the card's retained history (bisect on a sorted list plus
prefix sums) with constant Python overhead; the state per card is bounded: the 7-day window
(pruned lazily, at most ``2 * HISTORY_CAP`` events) and at most ``SEEN_CAP`` remembered
devices, IPs and merchants. Late events (older than the newest one a card has seen) are
placed in time order, so their window features are exact; events already scored are not
revisited, as a stream cannot take back a decision.

:meth:`OnlineFeatures.snapshot` / :meth:`OnlineFeatures.restore` serialise the state (zlib
JSON with a version), so a scorer can checkpoint it to S3 and rebuild after a restart;
:meth:`OnlineFeatures.capture` does the same without a pause (:mod:`fraudstack.features.snapshot`).
"""

from __future__ import annotations

import json
import math
import zlib
from bisect import bisect_left, bisect_right
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

from fraudstack.features.definitions import (
    CHANNEL_CODES,
    DAY,
    DEGREES_PER_HOUR,
    EARTH_RADIUS_KM,
    ENTITIES,
    ENTITY_FEATURES,
    ENTITY_HISTORY_CAP,
    ENTITY_WINDOWS,
    ENTRY_MODE_CODES,
    FEATURE_VERSION,
    HISTORY_CAP,
    HOUR,
    KEY,
    LABEL_WINDOWS,
    LONGEST_WINDOW,
    LOOKBACK,
    MCC_RISK,
    MICROS_PER_SECOND,
    MIN_SPEED_GAP_SECONDS,
    NEW_CARD_HORIZON,
    NEW_CARD_WINDOWS,
    SEEN_CAP,
    WINDOWS,
)
from fraudstack.features.snapshot import SNAPSHOT_FORMAT, Capture

NAN = math.nan
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
_ONE_MICRO = datetime(1970, 1, 1, 0, 0, 0, 1, tzinfo=UTC) - _EPOCH
_WINDOW_LENGTHS = tuple(WINDOWS.values())
_EMPTY_WINDOWS = [0.0] * len(WINDOWS)

#: Seen-value memory: value -> (latest time, latest earlier distinct time or None). Two times
#: so an event tied with the latest use still finds the use strictly before it.
Seen = dict[str, tuple[int, int | None]]


def to_micros(value: Any) -> int:
    """Event time (aware datetime, pandas Timestamp, ISO string or epoch micros) -> epoch micros."""
    if isinstance(value, str):  # the wire form (fromisoformat reads the ``Z`` since Python 3.11)
        value = datetime.fromisoformat(value)
    elif isinstance(value, int):
        return value
    if value.tzinfo is None:
        raise ValueError(f"event_time must be timezone-aware UTC, got naive {value!r}")
    micros: int = (value - _EPOCH) // _ONE_MICRO
    return micros


def to_cents(amount: Any) -> int:
    """Amount (Decimal, float or str) -> integer cents; integer sums keep both forms exact."""
    return round(float(amount) * 100)


def date_to_micros(value: Any) -> int:
    """Account-creation date (date or ISO string) -> epoch micros of its midnight UTC."""
    if isinstance(value, str):
        value = date.fromisoformat(value[:10])
    return (value.toordinal() - _EPOCH_ORDINAL) * DAY


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance; same formula and operation order as the batch form."""
    p1 = math.radians(lat1)
    p2 = math.radians(lat2)
    dp = p2 - p1
    dl = math.radians(lon2) - math.radians(lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(min(a, 1.0)))


def _seen_is_new(seen: Seen, value: Any, t: int, horizon: int = LOOKBACK) -> float:
    """1.0 if ``value`` was not used strictly before ``t`` within ``horizon``, 0.0 if it was."""
    if value is None:
        return NAN
    entry = seen.get(value)
    if entry is None:
        return 1.0
    latest, earlier = entry
    before = latest if latest < t else earlier
    if before is None or before >= t:
        return 1.0
    return 1.0 if t - before > horizon else 0.0


def _seen_add(seen: Seen, value: Any, t: int) -> None:
    if value is None:
        return
    entry = seen.get(value)
    if entry is None:
        seen[value] = (t, None)
        if len(seen) > SEEN_CAP:
            _seen_shrink(seen)
        return
    latest, earlier = entry
    if t > latest:
        seen[value] = (t, latest)
    elif t < latest and (earlier is None or t > earlier):
        seen[value] = (latest, t)


def _seen_shrink(seen: Seen) -> None:
    """Forget the least recently used quarter, so the O(n log n) cost is paid rarely."""
    keep = sorted(seen.items(), key=lambda item: item[1][0])[len(seen) - (SEEN_CAP * 3) // 4 :]
    seen.clear()
    seen.update(keep)


class CardState:
    """History of one card: recent events in time order plus remembered devices, IPs, merchants.

    ``cum`` holds running prefix sums of cents (``cum[i + 1] - cum[i]`` = cents of retained
    event ``i``), so a window sum is one subtraction and pruning the front needs no rebasing.
    """

    __slots__ = (
        "countries",
        "cum",
        "devices",
        "ips",
        "lats",
        "lons",
        "merchants",
        "next_prune",
        "times",
    )

    def __init__(self) -> None:
        self.times: list[int] = []
        self.cum: list[int] = [0]
        self.lats: list[float] = []
        self.lons: list[float] = []
        self.countries: list[str | None] = []
        self.next_prune = 64
        self.devices: Seen = {}
        self.ips: Seen = {}
        self.merchants: Seen = {}

    def history_features(
        self,
        t: int,
        cents: int,
        lat: float,
        lon: float,
        country: str | None,
        device: str | None,
        ip: str | None,
        merchant: str | None,
    ) -> list[float]:
        """Features from the card's events strictly before ``t`` (seconds_since_prev .. new_merchant)."""
        times = self.times
        end = bisect_left(times, t)
        if end:
            prev = end - 1
            if t - times[prev] <= LOOKBACK:
                gap = (t - times[prev]) / MICROS_PER_SECOND
                dist = haversine_km(self.lats[prev], self.lons[prev], lat, lon)
                speed = dist / (gap if gap > MIN_SPEED_GAP_SECONDS else MIN_SPEED_GAP_SECONDS) * 3600
                prev_country = self.countries[prev]
                changed = NAN if country is None or prev_country is None else float(country != prev_country)
            else:
                gap = dist = speed = changed = NAN
            counts, sums, mean_7d = self._windows(t, cents, end)
        else:  # nothing before t: every window is empty (the common case of a card's first event)
            gap = dist = speed = changed = mean_7d = NAN
            counts = sums = _EMPTY_WINDOWS
        return [
            gap,
            *counts,
            *sums,
            mean_7d,
            dist,
            speed,
            changed,
            _seen_is_new(self.devices, device, t),
            _seen_is_new(self.ips, ip, t),
            _seen_is_new(self.merchants, merchant, t),
        ]

    def _windows(self, t: int, cents: int, end: int) -> tuple[list[float], list[float], float]:
        """(count, amount) per window over the ``end`` events before ``t``, and amount_to_mean_7d."""
        times, cum = self.times, self.cum
        cum_end = cum[end]
        floor = end - HISTORY_CAP
        counts: list[float] = []
        sums: list[float] = []
        mean_7d = NAN
        for length in _WINDOW_LENGTHS:
            lo = bisect_left(times, t - length, 0, end)
            if lo < floor:
                lo = floor
            total = cum_end - cum[lo]
            counts.append(float(end - lo))
            sums.append(total / 100)
            if length == LONGEST_WINDOW and total:
                mean_7d = (cents * (end - lo)) / total
        return counts, sums, mean_7d

    def add(
        self,
        t: int,
        cents: int,
        lat: float,
        lon: float,
        country: str | None,
        device: str | None,
        ip: str | None,
        merchant: str | None,
    ) -> None:
        """Record an event (after its features were computed from the strict past)."""
        times = self.times
        if not times or t >= times[-1]:
            times.append(t)
            self.cum.append(self.cum[-1] + cents)
            self.lats.append(lat)
            self.lons.append(lon)
            self.countries.append(country)
        else:  # a late event: keep time order and rebuild the prefix sums after it
            at = bisect_right(times, t)
            times.insert(at, t)
            self.lats.insert(at, lat)
            self.lons.insert(at, lon)
            self.countries.insert(at, country)
            cum = self.cum
            cum.insert(at + 1, cum[at] + cents)
            for i in range(at + 2, len(cum)):
                cum[i] += cents
        _seen_add(self.devices, device, t)
        _seen_add(self.ips, ip, t)
        _seen_add(self.merchants, merchant, t)
        if len(times) >= self.next_prune:
            self._prune()

    def _prune(self) -> None:
        """Drop events no future window can count; keep the last one before the 7-day cutoff.

        That one is the "previous transaction" of a card idle for more than 7 days. Events
        beyond ``2 * HISTORY_CAP`` are dropped too (windows count at most ``HISTORY_CAP``; the
        margin covers ties).
        """
        times = self.times
        n = len(times)
        before_cutoff = bisect_left(times, times[-1] - LONGEST_WINDOW) - 1
        drop = max(before_cutoff, n - 2 * HISTORY_CAP, 0)
        if drop:
            del times[:drop]
            del self.cum[:drop]
            del self.lats[:drop]
            del self.lons[:drop]
            del self.countries[:drop]
        self.next_prune = max(64, 2 * len(times))

    def to_dict(self) -> dict[str, Any]:
        return {
            "t": self.times,
            "c": self.cum,
            "la": self.lats,
            "lo": self.lons,
            "co": self.countries,
            "dev": self.devices,
            "ip": self.ips,
            "m": self.merchants,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CardState:
        state = cls()
        state.times, state.cum = list(data["t"]), list(data["c"])
        state.lats, state.lons, state.countries = list(data["la"]), list(data["lo"]), list(data["co"])
        state.next_prune = max(64, 2 * len(state.times))
        for name, attr in (("dev", "devices"), ("ip", "ips"), ("m", "merchants")):
            setattr(state, attr, {k: (v[0], v[1]) for k, v in data[name].items()})
        return state


#: The history of a card never seen: features of its first event (read only, never added to).
_NO_HISTORY = CardState()


def _code(table: Mapping[str, int], value: Any) -> float:
    code = table.get(value) if value is not None else None
    return NAN if code is None else float(code)


class OnlineFeatures:
    """Feature state of every card one scorer partition owns.

    ``update(event)`` returns the event's features (all of
    :data:`~fraudstack.features.definitions.FEATURE_NAMES`, in order) computed from the
    card's past, then adds the event to the state. ``event`` is a mapping with the schema's
    field names (a parsed JSON event or ``TransactionEvent.model_dump()``); labels are never
    read.
    """

    def __init__(self) -> None:
        self.cards: dict[str, CardState] = {}
        self._capture: Capture | None = None

    def __len__(self) -> int:
        return len(self.cards)

    def update(self, event: Mapping[str, Any]) -> list[float]:
        t = to_micros(event["event_time"])
        cents = to_cents(event["amount"])
        lat = event.get("lat")
        lat = NAN if lat is None else float(lat)
        lon = event.get("lon")
        lon = NAN if lon is None else float(lon)
        country = event.get("country")
        device = event.get("device_id")
        ip = event.get("ip_address")
        merchant = event.get("merchant_id")
        key = event[KEY]
        # Everything that can fail on a bad event runs before the state changes, so an event
        # that raises (and is dead-lettered by the scorer) leaves the state as it was.
        state = self.cards.get(key)
        history = (state or _NO_HISTORY).history_features(t, cents, lat, lon, country, device, ip, merchant)
        created = event.get("customer_account_created")
        vpn = event.get("ip_is_vpn")
        mcc = event.get("merchant_category_code")
        local = t if lon != lon else t + round(lon / DEGREES_PER_HOUR) * HOUR  # NaN lon: UTC
        features = [
            cents / 100,
            float((local // HOUR) % 24),
            float((local // DAY + 3) % 7),  # 1970-01-01 was a Thursday
            NAN if created is None else (t - date_to_micros(created)) / DAY,
            *history,
            NAN if vpn is None else float(bool(vpn)),
            NAN if mcc is None else float(int(mcc)),
            NAN if mcc is None else float(MCC_RISK.get(mcc, 0)),
            _code(CHANNEL_CODES, event.get("channel")),
            _code(ENTRY_MODE_CODES, event.get("entry_mode")),
        ]
        if state is None:
            state = self.cards[key] = CardState()
        elif self._capture is not None:  # copy-on-write for a snapshot in the making
            self._capture.keep(key)
            if self._capture.done:
                self._capture = None
        state.add(t, cents, lat, lon, country, device, ip, merchant)
        return features

    def snapshot(self) -> bytes:
        """The whole state as compressed JSON (restorable by :meth:`restore`)."""
        capture = Capture(self.cards)
        capture.step()
        return capture.blob()

    def capture(self) -> Capture:
        """A snapshot of the state as it is now, to complete with :meth:`Capture.step` while updating.

        A capture still in progress is completed first: only one can track the changes.
        """
        if self._capture is not None:
            self._capture.step()
        self._capture = Capture(self.cards)
        return self._capture

    @classmethod
    def restore(cls, blob: bytes) -> OnlineFeatures:
        """Rebuild from :meth:`snapshot`; refuses snapshots of other feature definitions."""
        body = json.loads(zlib.decompress(blob))
        if body.get("format") != SNAPSHOT_FORMAT or body.get("feature_version") != FEATURE_VERSION:
            raise ValueError(
                f"snapshot has format {body.get('format')} / feature version {body.get('feature_version')}, "
                f"this code reads {SNAPSHOT_FORMAT} / {FEATURE_VERSION}: rebuild the state by replay"
            )
        online = cls()
        online.cards = {key: CardState.from_dict(data) for key, data in body["cards"].items()}
        return online


class EntityState:
    """Recent transactions at one merchant, device, IP or customer, across all cards.

    In time order: ``times``, prefix sums of cents (``cum``) and of new-card flags (``fresh``),
    so every velocity window is two bisections and subtractions. ``frauds`` holds the
    (event time, known at) of its transactions with a known fraud label, in time order: few
    (frauds are rare), so a window scans them. ``cards`` remembers when each card last used
    the entity, for the new-card flag; entries older than ``LOOKBACK`` are forgotten.
    """

    __slots__ = ("cards", "cum", "fraud_times", "frauds", "fresh", "next_prune", "times")

    def __init__(self) -> None:
        self.times: list[int] = []
        self.cum: list[int] = [0]
        self.fresh: list[int] = [0]
        self.frauds: list[tuple[int, int]] = []
        self.fraud_times: list[int] = []
        self.cards: Seen = {}
        self.next_prune = 64

    def features(self, t: int) -> list[float]:
        """The entity's profile for a transaction at ``t`` (one :data:`ENTITY_FEATURES` group)."""
        times, cum, fresh = self.times, self.cum, self.fresh
        end = bisect_left(times, t)
        capped = end - ENTITY_HISTORY_CAP
        floor = times[capped] if capped > 0 else None
        los = {suffix: self._lo(t - length, floor, end) for suffix, length in ENTITY_WINDOWS.items()}
        out = [float(end - lo) for lo in los.values()]
        out.append((cum[end] - cum[los["24h"]]) / 100)
        out += [float(fresh[end] - fresh[los[suffix]]) for suffix in NEW_CARD_WINDOWS]
        counts: list[float] = []
        rates: list[float] = []
        for length in _LABEL_LENGTHS:
            since = t - length if floor is None or floor < t - length else floor
            lo = bisect_left(times, since, 0, end)
            found = 0
            frauds = self.frauds
            for i in range(bisect_left(self.fraud_times, since), bisect_left(self.fraud_times, t)):
                if frauds[i][1] < t:
                    found += 1
            counts.append(float(found))
            rates.append(found / (end - lo) if end > lo else NAN)
        return out + counts + rates

    def _lo(self, since: int, floor: int | None, end: int) -> int:
        return bisect_left(self.times, since if floor is None or floor < since else floor, 0, end)

    def add(self, t: int, cents: int, card: str) -> None:
        """Record a transaction (after its features were computed from the strict past)."""
        new = int(_seen_is_new(self.cards, card, t, NEW_CARD_HORIZON) == 1.0)
        _seen_add(self.cards, card, t)
        times = self.times
        if not times or t >= times[-1]:
            times.append(t)
            self.cum.append(self.cum[-1] + cents)
            self.fresh.append(self.fresh[-1] + new)
        else:  # a late transaction: keep time order and rebuild the prefix sums after it
            at = bisect_right(times, t)
            times.insert(at, t)
            for prefix, value in ((self.cum, cents), (self.fresh, new)):
                prefix.insert(at + 1, prefix[at] + value)
                for i in range(at + 2, len(prefix)):
                    prefix[i] += value
        if len(times) >= self.next_prune:
            self._prune()

    def add_fraud(self, t: int, known_at: int, earlier: int | None) -> None:
        """Mark one of its transactions (at ``t``) a fraud known at ``known_at`` (was ``earlier``)."""
        if earlier is not None:
            at = bisect_left(self.frauds, (t, earlier))
            del self.frauds[at]
            del self.fraud_times[at]
        at = bisect_left(self.frauds, (t, known_at))
        self.frauds.insert(at, (t, known_at))
        self.fraud_times.insert(at, t)

    def _prune(self) -> None:
        """Drop what no future window can count: older than ``LOOKBACK``, or beyond twice the cap."""
        times = self.times
        newest = times[-1]
        drop = max(bisect_left(times, newest - LOOKBACK), len(times) - 2 * ENTITY_HISTORY_CAP, 0)
        if drop:
            del times[:drop]
            del self.cum[:drop]
            del self.fresh[:drop]
        gone = bisect_left(self.fraud_times, newest - LOOKBACK)
        del self.frauds[:gone]
        del self.fraud_times[:gone]
        stale = [card for card, (latest, _) in self.cards.items() if latest < newest - LOOKBACK]
        for card in stale:
            del self.cards[card]
        self.next_prune = max(64, 2 * len(times))


_ENTITY_WIDTH = len(next(iter(ENTITY_FEATURES.values())))
_NO_ENTITY = [NAN] * _ENTITY_WIDTH
_LABEL_LENGTHS = tuple(LABEL_WINDOWS.values())


class EntityProfiles:
    """Profiles of merchants, devices, IPs and customers: the online form of the entity features.

    ``update(event)`` returns the event's entity features (:data:`ENTITY_FEATURES`, every
    entity in order; NaN for an entity the event does not name) from each entity's strict
    past, then adds the event; ``label(event)`` records a label event as it arrives. A label
    counts for transactions after its ``known_at`` only, so labels may come interleaved with
    the transactions, late, twice, or before the transaction they are about.

    Holds every entity of the events it is given: in the streaming deployment one instance
    per partition of the entity-keyed topic (:mod:`fraudstack.scoring.profiles`). Memory is
    bounded by ``LOOKBACK`` of traffic: label bookkeeping per transaction is dropped once
    the transaction is older than that, and no window reaches it.
    """

    def __init__(self, entities: Mapping[str, str] = ENTITIES) -> None:
        self.entities = dict(entities)
        self.states: dict[str, dict[str, EntityState]] = {entity: {} for entity in self.entities}
        #: transaction -> (event time, the entity ids it named), for the labels to come.
        self.transactions: dict[str, tuple[int, tuple[str | None, ...]]] = {}
        #: transaction -> earliest known fraud label, also for transactions not seen yet.
        self.known: dict[str, int] = {}
        self._newest = 0
        self._next_prune = 1024

    def features(self, event: Mapping[str, Any]) -> list[float]:
        """The event's entity features from each entity's strict past (the state is not changed)."""
        t = to_micros(event["event_time"])
        out: list[float] = []
        for entity, column in self.entities.items():
            key = event.get(column)
            if key is None:
                out += _NO_ENTITY
            else:
                out += (self.states[entity].get(key) or _NO_ENTITY_STATE).features(t)
        return out

    def update(self, event: Mapping[str, Any]) -> list[float]:
        features = self.features(event)
        self.add(event)
        return features

    def add(self, event: Mapping[str, Any]) -> None:
        """Record a transaction at each entity it names; once (a replayed one changes nothing)."""
        tx = event["transaction_id"]
        if tx in self.transactions:
            return
        t = to_micros(event["event_time"])
        cents = to_cents(event["amount"])
        card = event[KEY]
        keys = tuple(event.get(column) for column in self.entities.values())
        known = self.known.get(tx)
        for states, key in zip(self.states.values(), keys, strict=True):
            if key is None:
                continue
            state = states.get(key)
            if state is None:
                state = states[key] = EntityState()
            state.add(t, cents, card)
            if known is not None:
                state.add_fraud(t, known, None)
        self.transactions[tx] = (t, keys)
        if t > self._newest:
            self._newest = t
        if len(self.transactions) >= self._next_prune:
            self._prune()

    def label(self, label: Mapping[str, Any]) -> None:
        """Record a label event (``transaction_id``, ``is_fraud``, ``known_at``); a genuine one is a no-op."""
        if not label["is_fraud"]:
            return
        tx = label["transaction_id"]
        known_at = to_micros(label["known_at"])
        earlier = self.known.get(tx)
        if earlier is not None and earlier <= known_at:
            return
        self.known[tx] = known_at
        seen = self.transactions.get(tx)
        if seen is None:
            return  # applied when the transaction arrives
        t, keys = seen
        for states, key in zip(self.states.values(), keys, strict=True):
            if key is not None:
                states[key].add_fraud(t, known_at, earlier)

    def _prune(self) -> None:
        """Forget transactions older than ``LOOKBACK`` and labels known before it: they count nothing.

        (A label is known after its transaction, so one known that long ago is about an old one.)
        """
        horizon = self._newest - LOOKBACK
        for tx in [tx for tx, (t, _) in self.transactions.items() if t < horizon]:
            del self.transactions[tx]
        for tx in [tx for tx, known_at in self.known.items() if known_at < horizon]:
            del self.known[tx]
        self._next_prune = max(1024, 2 * len(self.transactions))


#: The profile of an entity never seen (read only, never added to).
_NO_ENTITY_STATE = EntityState()
