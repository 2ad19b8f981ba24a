"""What the features are: names, meanings, the input columns each needs, and their constants.

Why a separate module: the batch form (training, the Glue inference job) and the online
form (the streaming scorer) must compute the *same* features; both read every constant
from here, so a window, a cap or a code table cannot drift between them. Bump
:data:`FEATURE_VERSION` whenever a definition changes: a model records the version it was
trained with and :mod:`fraudstack.model` refuses to score with a different one.

Semantics every feature keeps:

* History is per **card** (:data:`KEY`): Kafka is keyed by card, so the scorer partition that
  owns a card holds its whole history. A bring-your-own dataset without cards maps its
  customer id to ``card_id``.
* Strictly the past: an event at time ``t`` sees only events of its card with time ``< t``
  (ties at the same microsecond do not see each other), never labels
  (:data:`fraudstack.schema.LABEL_FIELDS`).
* Bounded past: nothing older than :data:`LOOKBACK` (30 days) matters. So the batch inference
  job needs only the last 30 days of history to reproduce the scorer's values exactly, and
  features do not drift with how long a dataset or a scorer has been running (a whole-history
  count would grow with the data's age, not with the card's behaviour).
* Windows are half-open ``[t - w, t)`` and count at most :data:`HISTORY_CAP` most recent
  events, so the online state per card is bounded and the batch form applies the same cap.

Entity profiles (:data:`ENTITIES`: merchant, device, IP, customer) describe what one card's
history cannot show: a compromised terminal or a breached shop defrauds many cards that each
look normal, a device or IP serving many cards is a ring. They keep the same rules over the
entity's transactions (all cards): strictly the past, half-open windows, nothing older than
``LOOKBACK``, at most :data:`ENTITY_HISTORY_CAP` most recent events (whole timestamp ties
kept together). The delayed-label features count only frauds whose label was known strictly
before the transaction (:data:`LABELS` is their pseudo-input: they exist only when labels are
given, as label events with ``known_at``, or ``is_fraud`` plus :data:`DEFAULT_LABEL_DELAY`).
Kafka is keyed by card, so a scorer partition cannot hold these: they are computed by the
profile aggregator (:mod:`fraudstack.scoring.profiles`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import get_args

from fraudstack.labels import DEFAULT_LABEL_DELAY as _DEFAULT_LABEL_DELAY
from fraudstack.schema import Channel, EntryMode

#: Version of the feature definitions; models trained on another version are refused.
#: 2: history bounded to LOOKBACK (whole-history count and mean removed).
#: 3: merchant, device, IP and customer profiles with delayed-label risk.
#: 4: a card is new to an entity after 29 days unseen (was 30), so nothing older than LOOKBACK
#:    matters to the new-card count either.
FEATURE_VERSION = 4

#: The entity whose history the features describe.
KEY = "card_id"

MICROS_PER_SECOND = 1_000_000
MINUTE = 60 * MICROS_PER_SECOND
HOUR = 60 * MINUTE
DAY = 24 * HOUR

#: Velocity windows, name suffix -> length in microseconds.
WINDOWS: dict[str, int] = {"10m": 10 * MINUTE, "1h": HOUR, "24h": DAY, "7d": 7 * DAY}
LONGEST_WINDOW = max(WINDOWS.values())

#: At most this many most recent events count in a window (bounds the online state; a card
#: with more than this many transactions in 7 days is already extraordinary).
HISTORY_CAP = 2000

#: No feature depends on events older than this: a device, IP or merchant is "new" to a card
#: when the card has not used it within it, and a "previous transaction" older than it is none.
LOOKBACK = 30 * DAY

#: Online state keeps at most this many distinct devices / IPs / merchants per card; beyond it
#: the least recently seen is forgotten. The only place the online form may differ from the
#: batch form, and only for a card with more distinct values than this within 30 days.
SEEN_CAP = 512

#: Entity profiles: name prefix -> the column holding the entity's id.
ENTITIES: dict[str, str] = {
    "merchant": "merchant_id",
    "device": "device_id",
    "ip": "ip_address",
    "customer": "customer_id",
}

#: Velocity windows of an entity: a compromised terminal or a ring shows within hours.
ENTITY_WINDOWS: dict[str, int] = {"1h": HOUR, "24h": DAY}
#: Windows of the new-cards count. (7-day counts and new cards were tried and dropped: merchant
#: compromise AP went 0.39 -> 0.30, other types no better, on the simulator before 67bd07a;
#: BENCHMARKS.md.)
NEW_CARD_WINDOWS: tuple[str, ...] = ("24h",)
#: A card is new to an entity when it has not used it in this long: with the longest new-card
#: window it spans LOOKBACK, so nothing older than LOOKBACK matters to these either.
NEW_CARD_HORIZON = LOOKBACK - max(ENTITY_WINDOWS[w] for w in NEW_CARD_WINDOWS)

#: Delayed-label windows: frauds (and their share) among the entity's transactions this recent.
LABEL_WINDOWS: dict[str, int] = {"1d": DAY, "7d": 7 * DAY, "30d": LOOKBACK}

#: Entity windows count at most this many most recent events (a busy merchant's 30 days are
#: far more than a card's, and the online state must stay bounded).
ENTITY_HISTORY_CAP = 20_000

#: Pseudo-input of the delayed-label features: present only when labels are given.
LABELS = "labels"

#: A label with no ``known_at`` (data with only ``is_fraud``) is known this long after its transaction.
DEFAULT_LABEL_DELAY = _DEFAULT_LABEL_DELAY // timedelta(microseconds=1)

#: Implied speed uses at least this gap, so two transactions a second apart do not read as
#: near-infinite speed from GPS-level location noise.
MIN_SPEED_GAP_SECONDS = 60.0

EARTH_RADIUS_KM = 6371.0088

#: Degrees of longitude per hour of solar time: local hour = UTC + round(lon / 15).
DEGREES_PER_HOUR = 15.0

#: Stable integer codes for the schema's categorical fields (new values go at the end).
CHANNEL_CODES: dict[str, int] = {name: code for code, name in enumerate(get_args(Channel))}
ENTRY_MODE_CODES: dict[str, int] = {name: code for code, name in enumerate(get_args(EntryMode))}

#: Merchant risk tier by ISO 18245 MCC: a fixed, label-free prior from card-network high-risk
#: lists (learning it from fraud labels would leak the label into the feature). 2 = high
#: (quasi-cash, money transfer, gambling, digital goods), 1 = elevated (resaleable goods,
#: travel), 0 = everything else.
MCC_RISK: dict[str, int] = {
    "4829": 2,  # money transfer
    "6051": 2,  # quasi-cash, crypto
    "6211": 2,  # securities brokers
    "6540": 2,  # stored-value card loads
    "7995": 2,  # gambling
    "5967": 2,  # direct marketing, inbound telemarketing
    "5816": 2,  # digital goods: games
    "5815": 1,  # digital goods: media
    "4814": 1,  # telecom, prepaid top-ups
    "5045": 1,  # computers, peripherals
    "5732": 1,  # electronics
    "5944": 1,  # jewellery, watches
    "5094": 1,  # precious stones and metals
    "5999": 1,  # miscellaneous retail
    "4722": 1,  # travel agencies
    "3000": 1,  # airlines
    "4511": 1,  # airlines
    "7011": 1,  # hotels
    "6011": 1,  # ATM cash
}


@dataclass(frozen=True, slots=True)
class Feature:
    """One model input: its name, what it means for a reviewer, and the columns it needs."""

    name: str
    description: str
    needs: tuple[str, ...]


_HISTORY = (KEY, "event_time", "amount")

#: Features of the transaction itself and its card's own history (what a scorer partition computes).
CARD_FEATURES: tuple[Feature, ...] = (
    Feature("amount", "transaction amount", ("amount",)),
    Feature("hour", "local hour of day (solar time from the longitude; UTC without one)", ("event_time",)),
    Feature("weekday", "local day of week (Monday = 0)", ("event_time",)),
    Feature(
        "account_age_days",
        "days since the customer's account was opened",
        ("event_time", "customer_account_created"),
    ),
    Feature("seconds_since_prev", "seconds since the card's previous transaction (within 30 days)", _HISTORY),
    *(Feature(f"n_{w}", f"transactions of this card in the previous {w}", _HISTORY) for w in WINDOWS),
    *(Feature(f"sum_{w}", f"amount spent by this card in the previous {w}", _HISTORY) for w in WINDOWS),
    Feature("amount_to_mean_7d", "amount / the card's mean amount over the previous 7 days", _HISTORY),
    Feature("dist_prev_km", "km from the card's previous transaction", (*_HISTORY, "lat", "lon")),
    Feature("speed_prev_kmh", "implied km/h from the card's previous transaction", (*_HISTORY, "lat", "lon")),
    Feature(
        "country_changed", "country differs from the card's previous transaction", (*_HISTORY, "country")
    ),
    Feature("new_device", "device not used by this card in the previous 30 days", (*_HISTORY, "device_id")),
    Feature("new_ip", "IP address not used by this card in the previous 30 days", (*_HISTORY, "ip_address")),
    Feature(
        "new_merchant", "first purchase of this card at this merchant in 30 days", (*_HISTORY, "merchant_id")
    ),
    Feature("is_vpn", "IP belongs to a VPN or anonymising proxy", ("ip_is_vpn",)),
    Feature("mcc", "merchant category code", ("merchant_category_code",)),
    Feature(
        "merchant_risk",
        "merchant category risk tier (0 normal, 1 elevated, 2 high)",
        ("merchant_category_code",),
    ),
    Feature("channel", "channel (0 pos, 1 ecom, 2 atm)", ("channel",)),
    Feature("entry_mode", "card entry mode (0 chip ... 4 card not present)", ("entry_mode",)),
)


def _entity_features(entity: str, column: str) -> tuple[Feature, ...]:
    """One entity's profile: velocity over :data:`ENTITY_WINDOWS`, known frauds over :data:`LABEL_WINDOWS`.

    New cards rather than distinct cards: "cards new to this merchant" sums per event (so both
    forms get it from prefix sums in O(log n)), and it is what a burst of stolen or tested cards
    looks like; a card back at its usual shop is not new.
    """
    history = (column, "event_time", "amount", KEY)
    labelled = (column, "event_time", LABELS)
    return (
        *(
            Feature(f"{entity}_n_{w}", f"transactions at this {entity} in the previous {w}", history)
            for w in ENTITY_WINDOWS
        ),
        Feature(f"{entity}_sum_24h", f"amount spent at this {entity} in the previous 24h", history),
        *(
            Feature(
                f"{entity}_new_cards_{w}",
                f"cards that used this {entity} for the first time in 29 days, in the previous {w}",
                history,
            )
            for w in NEW_CARD_WINDOWS
        ),
        *(
            Feature(
                f"{entity}_frauds_{w}",
                f"known frauds among this {entity}'s transactions of the previous {w}",
                labelled,
            )
            for w in LABEL_WINDOWS
        ),
        *(
            Feature(
                f"{entity}_fraud_rate_{w}",
                f"known frauds / transactions at this {entity} in the previous {w}",
                labelled,
            )
            for w in LABEL_WINDOWS
        ),
    )


#: Entity profile features, per entity, in the order both forms produce them.
ENTITY_FEATURES: dict[str, tuple[Feature, ...]] = {
    entity: _entity_features(entity, column) for entity, column in ENTITIES.items()
}
#: Every feature, in the column order both forms produce.
FEATURES: tuple[Feature, ...] = (*CARD_FEATURES, *(f for group in ENTITY_FEATURES.values() for f in group))

FEATURE_NAMES: tuple[str, ...] = tuple(feature.name for feature in FEATURES)
CARD_FEATURE_NAMES: tuple[str, ...] = tuple(feature.name for feature in CARD_FEATURES)
DESCRIPTIONS: dict[str, str] = {feature.name: feature.description for feature in FEATURES}
FEATURE_INDEX: dict[str, int] = {name: index for index, name in enumerate(FEATURE_NAMES)}

#: Input columns any feature may read (the scorer and the inference job need no others).
INPUT_COLUMNS: tuple[str, ...] = tuple(
    dict.fromkeys(col for f in FEATURES for col in f.needs if col != LABELS)
)


def available_features(columns: set[str] | frozenset[str]) -> tuple[str, ...]:
    """The features computable from ``columns`` (bring-your-own data may lack some inputs)."""
    return tuple(f.name for f in FEATURES if set(f.needs) <= columns)
